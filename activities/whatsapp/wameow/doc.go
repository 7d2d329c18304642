// Package wameow is the real whatsapp.Client: one linked WhatsApp companion device per salon,
// driven by go.mau.fi/whatsmeow and following the measured facts in
// shared/reference/whatsapp-whatsmeow.md. It mirrors the simulated phone (package simphone):
// one batch of QR codes per pairing attempt ending in exactly one terminal item, silent close on
// cancel, the same typed errors for every connection state.
//
// # Session store and its isolation
//
// whatsmeow keeps each device's Signal keys, sessions and contacts in its own tables
// (whatsmeow_*). They live in a database of their own on the same PostgreSQL server, named after
// the application database with a "_wa" suffix (aiadmin → aiadmin_wa), created on first start
// when missing. A DSN whose database already ends in "_wa" is used as it is, so operations can
// point the store anywhere, including at a database owned by a separate role.
//
// Why a separate database rather than a schema: whatsmeow's upgrader looks tables up in
// information_schema without a schema filter, so a second schema in the same database is only
// safe with a dedicated role that cannot see the other one, which needs CREATEROLE, a second
// password and SET ROLE plumbing. A database of its own cannot collide at all, needs only
// CREATEDB (or a pre-created database), keeps goose and sqlc blind to whatsmeow's tables, and
// can be backed up, restored or wiped on its own.
//
// Threat model: the store holds secrets that let their holder act as the salon's linked device
// (noise and identity keys, ADV secret, Signal sessions). The separate database protects against
// accidents (an app migration, a debugging query or a careless dump of the app database touching
// them) and makes the blast radius obvious; it is not a privilege boundary against someone who
// controls this process or its database role, which can open both databases. For that, give the
// store its own role via a "_wa" DSN with other credentials. The store gets its own small pool
// (at most 4 connections) so whatsmeow's chatter cannot starve application queries, and its
// schema upgrade runs under pg_advisory_lock because concurrent upgrades fail.
//
// # Mapping and lifetimes
//
// The application table whatsapp_devices maps a salon to the full device JID
// (user:device@server); devices are never looked up by bare number. Pairing runs on a throwaway
// client whose connection lives as long as the pairing attempt's context; once the phone has
// accepted it, the device is handed to a long-lived client whose connection lives until Close,
// and success is reported only after that client has logged in. Long-lived clients reconnect by
// themselves with a backoff capped at Options.MaxReconnectBackoff, except after StreamReplaced,
// a temporary ban, an outdated client or a logout.
//
// QR payloads and pairing codes are secrets: they are never logged (whatsmeow's debug log, which
// prints them, is dropped).
package wameow
