-- Deal integrity (SPEC 5.1, 5.2): a button's effect happens once (its offer is recorded on what it
-- made), a deal has one current commitment per kind and each scope item once, one active hold,
-- and one pending approval per kind. Records made before these rules are brought in line first:
-- the newest stays current, older ones become history.
ALTER TABLE commitments ADD COLUMN offer_id TEXT;
ALTER TABLE commitments ADD COLUMN value TEXT NOT NULL DEFAULT '';
ALTER TABLE commitments ADD COLUMN current INTEGER NOT NULL DEFAULT 1;
ALTER TABLE commitments ADD COLUMN superseded_at TEXT;
UPDATE commitments SET value = 'legacy-' || id WHERE kind = 'scope';
UPDATE commitments SET current = 0 WHERE kind <> 'scope'
    AND id < (SELECT MAX(c.id) FROM commitments c WHERE c.deal_id = commitments.deal_id AND c.kind = commitments.kind);
CREATE UNIQUE INDEX commitments_offer ON commitments (offer_id, kind) WHERE offer_id IS NOT NULL;
CREATE UNIQUE INDEX commitments_current ON commitments (deal_id, kind) WHERE current = 1 AND kind <> 'scope';
CREATE UNIQUE INDEX commitments_scope_once ON commitments (deal_id, value) WHERE current = 1 AND kind = 'scope';

ALTER TABLE holds ADD COLUMN offer_id TEXT;
DELETE FROM allocations WHERE hold_id IN (SELECT h.id FROM holds h WHERE h.state = 'active'
    AND h.created_at < (SELECT MAX(n.created_at) FROM holds n WHERE n.deal_id = h.deal_id AND n.state = 'active'));
UPDATE holds SET state = 'released' WHERE state = 'active'
    AND created_at < (SELECT MAX(n.created_at) FROM holds n WHERE n.deal_id = holds.deal_id AND n.state = 'active');
CREATE UNIQUE INDEX holds_offer ON holds (offer_id) WHERE offer_id IS NOT NULL;
CREATE UNIQUE INDEX holds_one_active ON holds (deal_id) WHERE state = 'active';

ALTER TABLE approvals ADD COLUMN offer_id TEXT;
UPDATE approvals SET state = 'expired' WHERE state = 'pending' AND deal_id IS NOT NULL
    AND created_at < (SELECT MAX(n.created_at) FROM approvals n WHERE n.deal_id = approvals.deal_id AND n.kind = approvals.kind AND n.state = 'pending');
CREATE UNIQUE INDEX approvals_offer ON approvals (offer_id) WHERE offer_id IS NOT NULL;
CREATE UNIQUE INDEX approvals_one_pending ON approvals (deal_id, kind) WHERE state = 'pending' AND deal_id IS NOT NULL;

ALTER TABLE tickets ADD COLUMN offer_id TEXT;
CREATE UNIQUE INDEX tickets_offer ON tickets (offer_id) WHERE offer_id IS NOT NULL;
