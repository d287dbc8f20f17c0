"""Pages for people working their tasks: the inbox, a task's form, drafts and claims, and the case pages."""
