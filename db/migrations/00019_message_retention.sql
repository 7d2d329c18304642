-- +goose NO TRANSACTION
-- +goose Up

-- The message ledger kept every message for ever: each client's number and the text sent to
-- them (their name, the visit), long after anyone needs them, and a row for every message
-- ever sent (at a thousand salons, on the order of a hundred thousand a day). Now an ended
-- message's number and text are emptied MESSAGE_RETENTION after it was written and after its
-- visit, and a visit's emptied message row is deleted MESSAGE_ROW_RETENTION after both. A
-- message about no visit (visit_time 'epoch': a client's welcome, a sample) keeps its row,
-- emptied, so that it stays once only. A queued message is never touched: it may still be
-- sent. No column is added: the release before this one reads the table with SELECT *, and
-- an emptied message is one whose number and text are both empty.
--
-- Ended messages whose number or text is still kept, by age: the purge reads the oldest of
-- them. Emptied messages of visits, by age: the deletion reads the oldest of them.
-- CONCURRENTLY, so that messages keep being written while the indexes are built; a build that
-- failed half-way leaves an invalid index, which the DROP before the build removes on the
-- next try.
DROP INDEX CONCURRENTLY IF EXISTS messages_purge_idx;
CREATE INDEX CONCURRENTLY messages_purge_idx ON messages (created_at)
    WHERE status <> 'queued' AND (phone <> '' OR body <> '');
DROP INDEX CONCURRENTLY IF EXISTS messages_purged_idx;
CREATE INDEX CONCURRENTLY messages_purged_idx ON messages (created_at)
    WHERE phone = '' AND body = '' AND visit_time <> 'epoch'::timestamptz;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS messages_purged_idx;
DROP INDEX CONCURRENTLY IF EXISTS messages_purge_idx;
