"""Community organizations: the partners a jail finds, courts and keeps."""
