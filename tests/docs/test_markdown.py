"""Text from the code cannot break a generated page, and the SQL's comments are read as meanings."""

from __future__ import annotations

from pipeline.manual.markdown import inline, paragraphs, table
from pipeline.manual.sql_meanings import read_meanings


def test_hostile_help_text_is_escaped_outside_code_spans() -> None:
    text = inline('<script>alert("x")</script> a|b *bold* [link](http://evil) `keep|<this>`')
    assert "<script>" not in text and "\\<script\\>" in text
    assert "a\\|b" in text and "\\*bold\\*" in text and "\\[link\\]" in text
    assert "`keep|<this>`" in text


def test_a_table_and_click_paragraphs() -> None:
    assert table(("a", "b"), [("1", "")]) == "| a | b |\n|---|---|\n| 1 |   |"
    assert paragraphs("One\nline.\n\n\b\nkept\nlines") == ["One line.", "kept  \nlines"]


def test_meanings_come_from_the_comments_beside_the_sql() -> None:
    sql = """-- header of the file

-- What t holds.
CREATE SEQUENCE t_ids;
CREATE TABLE t (
    a INTEGER,           -- the a
    -- the b, above it
    b VARCHAR
);
-- c alone
ALTER TABLE t ADD COLUMN c INTEGER;
ALTER TABLE t ADD COLUMN d INTEGER;  -- the d
COMMENT ON COLUMN t.b IS 'the b''s own';
-- What v_of reads.
CREATE OR REPLACE MACRO v_of(x) AS TABLE SELECT 1;
CREATE OR REPLACE VIEW v AS SELECT * FROM v_of(NULL);
"""
    found = read_meanings([("x.sql", sql)])
    assert found["t"].meaning == "What t holds." and found["t"].kind == "table"
    assert found["t"].columns == {"a": "the a", "b": "the b's own", "c": "c alone", "d": "the d"}
    assert found["v"].meaning == "What v_of reads." and found["v"].kind == "view"
