package capture

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Purged says what Purge removed.
type Purged struct {
	Changes, Images, Rows int64 // changes that expired, image tables and rows dropped
}

// Purge drops the before-images of changes older than age; their records
// stay, marked expired, and can no longer be undone. conn's role must be
// belay_owner or a member of it.
func Purge(ctx context.Context, conn *pgx.Conn, age time.Duration) (Purged, error) {
	var p Purged
	err := conn.QueryRow(ctx, "SELECT changes, images, image_rows FROM belay.purge($1)", age).Scan(&p.Changes, &p.Images, &p.Rows)
	if err != nil {
		return p, fmt.Errorf("purge: %w", err)
	}
	return p, nil
}
