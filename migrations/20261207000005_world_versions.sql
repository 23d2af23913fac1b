-- A revision no longer stores the whole world: with ten thousand monitors that was 3 MB written
-- per change, however small. Instead each object's document is kept as versions: the one a
-- revision wrote lives from that revision (`since`) until the revision that changed or removed
-- it (`until`, NULL while it is current). The world after revision N is the versions alive at N;
-- restore reads that. Documents are as the history shows them: secrets replaced by "(secret)".
CREATE TABLE world_versions (
    kind     TEXT NOT NULL,
    id       TEXT NOT NULL,
    since    BIGINT NOT NULL,
    until    BIGINT,
    -- Page order of components, and settings in each kind's order (monitors: 0).
    position INTEGER NOT NULL,
    doc      JSONB NOT NULL,
    PRIMARY KEY (kind, id, since)
);
CREATE INDEX world_versions_current ON world_versions (kind, id) WHERE until IS NULL;

-- Revisions written before versions keep their whole world; later ones store none.
ALTER TABLE world_revisions ALTER COLUMN world DROP NOT NULL;
-- The first revision whose world the versions hold (NULL until a change writes them: that
-- change writes every object once).
ALTER TABLE world_head ADD COLUMN versions_since BIGINT;
