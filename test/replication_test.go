package test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/belay-proxy/belay/internal/pgcluster"
)

// Logical replication through belay: pg_recvlogical's replication
// connection uses CopyBothResponse, with CopyData flowing both ways (WAL to
// the client, standby status updates back).
func TestLogicalReplicationStreamsThroughBelay(t *testing.T) {
	recv := requireTool(t, "pg_recvlogical")
	c := pgcluster.ForTest(t, pgcluster.Options{
		Auth:      pgcluster.AuthTrust,
		ExtraConf: []string{"wal_level = logical", "max_replication_slots = 4", "max_wal_senders = 4"},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.Exec(ctx, "CREATE TABLE repl_probe (id int primary key, note text)"); err != nil {
		t.Fatal(err)
	}
	p := startBelay(t, belayOpts{Upstream: c.Addr()})
	dsn := p.DSN("postgres", "postgres") + " replication=database"

	create := exec.CommandContext(ctx, recv, "-d", dsn, "--slot", "belay_probe", "--create-slot", "-P", "test_decoding")
	create.Env = clientEnv()
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("create slot through belay: %v\n%s", err, out)
	}
	outFile := filepath.Join(t.TempDir(), "changes.txt")
	stream := exec.CommandContext(ctx, recv, "-d", dsn, "--slot", "belay_probe", "--start", "-f", outFile,
		"--status-interval", "1", "--fsync-interval", "1")
	stream.Env = clientEnv()
	var stderr syncBuffer
	stream.Stderr = &stderr
	if err := stream.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stream.Process.Signal(syscall.SIGINT)
		_ = stream.Wait()
		_ = c.Exec(context.Background(), "SELECT pg_drop_replication_slot('belay_probe')")
	})
	if err := c.Exec(ctx, "INSERT INTO repl_probe VALUES (1, 'through belay')"); err != nil {
		t.Fatal(err)
	}
	admin := connect(t, c.DSN("postgres", "", "postgres"))
	var afterInsert string
	if err := admin.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&afterInsert); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, _ := os.ReadFile(outFile)
		if strings.Contains(string(data), "table public.repl_probe: INSERT: id[integer]:1 note[text]:'through belay'") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("change not streamed within 20 s; got %q\npg_recvlogical: %s", data, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The client's standby status updates (CopyData upstream) must reach the
	// server: the slot's confirmed position moves past the insert.
	deadline = time.Now().Add(15 * time.Second)
	for {
		var confirmed bool
		err := admin.QueryRow(ctx, "SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots WHERE slot_name = 'belay_probe'", afterInsert).Scan(&confirmed)
		if err == nil && confirmed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("standby status never confirmed a position (err %v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
