-- An agent token speaks for one region, chosen when it is created (`vigil token create --scope
-- agent --region eu-west`): a host holding it can neither reach a quorum alone nor keep other
-- regions fresh. Tokens made before this have none and are refused by the agent endpoints until
-- replaced.
ALTER TABLE api_tokens ADD COLUMN region text
    CHECK (region IS NULL OR region ~ '^[A-Za-z0-9_-]{1,40}$');
