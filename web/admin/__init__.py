"""Pages for a board's administrators: reassigning a task with a reason, and giving or removing case roles."""
