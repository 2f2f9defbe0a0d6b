package proxy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgproto3"
)

func TestStartupPacketBounds(t *testing.T) {
	for name, length := range map[string]uint32{"too short": 4, "10 MB": 10 << 20, "2^31": 1 << 31} {
		t.Run(name, func(t *testing.T) {
			var pkt [8]byte
			binary.BigEndian.PutUint32(pkt[:], length)
			_, err := readStartupPacket(bytes.NewReader(pkt[:]))
			var ce *clientError
			if !errors.As(err, &ce) || ce.code != "08P01" {
				t.Fatalf("err %v, want 08P01", err)
			}
		})
	}
}

func TestStartupParams(t *testing.T) {
	raw := encode(t, &pgproto3.StartupMessage{
		ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters:      map[string]string{"user": "alice", "database": "shop", "application_name": "psql"},
	})
	pkt, err := readStartupPacket(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseStartupParams(pkt[8:])
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"user": "alice", "database": "shop", "application_name": "psql"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("params (-want +got):\n%s", diff)
	}
	for name, body := range map[string][]byte{
		"unterminated": []byte("user\x00alice"),
		"no user":      []byte("database\x00shop\x00\x00"),
	} {
		if _, err := parseStartupParams(body); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
