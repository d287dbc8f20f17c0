"""Pages for process owners: the studio where procedures are edited, checked and published (empty until the
studio is built; its blueprint registers in web/__init__.py beside the others)."""
