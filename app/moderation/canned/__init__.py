"""The canned-response library (named Markdown templates with placeholders, filled in for
the member answered) and the appointment destinations their links may point to."""
