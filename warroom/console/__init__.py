"""The responder console: a full-screen Textual client of one incident."""
