//! dclm-fasttext: empty so far; its stage issue fills it in.
