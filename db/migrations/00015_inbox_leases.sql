-- +goose Up

-- A dispatcher's lease on an inbox row lives in a narrow table of its own instead of in the
-- row. Leasing a row used to rewrite it (claimed_until, claim_token): a new version of the
-- whole row, its body of a kilobyte or more with it, in the heap, in every index and in the
-- WAL, and the dispatcher's finish rewrote it once more. A lease is now a small insert here,
-- deleted by the statement that records the row's end; the row itself is written once when it
-- is received and once when it ends. An expired lease is free to be taken again (a claim
-- replaces it); leases the dispatcher's idle-time purge finds expired for a while are deleted.
--
-- webhook_inbox.claimed_until and claim_token are no longer written. A claim still respects a
-- lease a dispatcher of the code before holds there, so that rows it had leased when it was
-- stopped are not handed on twice while the new code takes over; a later migration drops them.
CREATE TABLE webhook_inbox_leases (
    inbox_id      bigint      PRIMARY KEY,
    claim_token   text        NOT NULL,
    claimed_until timestamptz NOT NULL
);

-- +goose Down
DROP TABLE webhook_inbox_leases;
