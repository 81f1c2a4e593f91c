-- Who judged each answer (see docs/scorecards.md "Rule criteria"): 'llm' (the language model, or "na" from a
-- failed only_if pre-check of an LLM criterion) or 'rule' (a rule checked in plain code).
-- Every answer stored before rules existed came from the LLM.
ALTER TABLE scores ADD COLUMN criterion_kind VARCHAR;
UPDATE scores SET criterion_kind = 'llm';
