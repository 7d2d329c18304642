-- +goose NO TRANSACTION
-- +goose Up

-- An inbox row whose body was purged (INBOX_RETENTION) is deleted once it was handed on more
-- than INBOX_ROW_RETENTION ago: until then it tells an operator what came for a record and
-- when; kept for ever, the inbox grew by every webhook YClients ever sent (at a thousand
-- salons, on the order of a hundred thousand rows a day). Dead rows stay: each is an operator's
-- to look at, and counted. The index holds only rows whose body is gone and are not dead, in
-- the order they were handed on: the deletion reads the oldest of them and nothing else.
--
-- CONCURRENTLY, so that webhooks keep being stored while the index is built; a build that
-- failed half-way leaves an invalid index, which the DROP before the build removes on the next
-- try.
DROP INDEX CONCURRENTLY IF EXISTS webhook_inbox_purged_idx;
CREATE INDEX CONCURRENTLY webhook_inbox_purged_idx ON webhook_inbox (processed_at)
    WHERE purged_at IS NOT NULL AND state <> 'dead';

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS webhook_inbox_purged_idx;
