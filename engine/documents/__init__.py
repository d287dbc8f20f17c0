"""The Word documents a review produces, the integrated chronology and the anonymisation key with its leak scan
(empty until the documents are built; python-docx lives here and nowhere else)."""
