-- _text and _content: one full-text row per resource, rowid = the resource's rid, with
-- the narrative (Resource.text.div without markup) and the resource's other distinct
-- strings (see fulltext.go). Contentless (content=''): the words are indexed, the text is
-- not stored a second time (the JSON already holds it); contentless_delete=1 lets a
-- re-index delete a row by rowid. unicode61 with remove_diacritics 2 folds case and
-- accents in documents and queries alike. detail=full keeps word positions, for phrases.
CREATE VIRTUAL TABLE search_text USING fts5(narrative, content, content='', contentless_delete=1,
  detail=full, tokenize='unicode61 remove_diacritics 2');
