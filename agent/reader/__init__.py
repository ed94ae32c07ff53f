"""Reading a message: the lexicon (``rules/*.toml``, loaded once by ``lexicon``), the title
and people spotter (``mentions``), the passes that read a message (``intent``) and the
typed frames they yield (``frames``), including an answer to recbot's own question."""
