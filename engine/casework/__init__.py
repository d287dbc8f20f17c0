"""What people do on cases: start, complete, take and hand over tasks, drafts, case roles, the case file, the
read side for inboxes and case pages, mail, sign-ins and the timer worker. Persists through engine.ports only;
no Flask."""
