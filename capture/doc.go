// Package capture keeps belay's records in the upstream database: the
// belay schema that `belay init` creates and migrates (versioned, with
// goose), and, as the undo work lands, the row images of held changes.
// It talks to PostgreSQL through pgx; nothing here decides policy.
package capture
