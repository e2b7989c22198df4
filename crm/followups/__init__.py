"""Follow-ups: what someone must do about one record, by when."""
