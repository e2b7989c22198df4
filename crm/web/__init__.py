"""HTTP plumbing shared by every blueprint: access control, error pages, pagination."""
