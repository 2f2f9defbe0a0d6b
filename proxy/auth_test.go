package proxy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgproto3"
)

func TestWithoutMechanismStripsSCRAMPlus(t *testing.T) {
	in := encode(t, &pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"}})
	out := withoutMechanism(in, scramPlus)
	var msg pgproto3.AuthenticationSASL
	if err := msg.Decode(out[5:]); err != nil {
		t.Fatalf("re-encoded message does not decode: %v", err)
	}
	if diff := cmp.Diff([]string{"SCRAM-SHA-256"}, msg.AuthMechanisms); diff != "" {
		t.Fatalf("mechanisms (-want +got):\n%s", diff)
	}
	if got := int(out[1])<<24 | int(out[2])<<16 | int(out[3])<<8 | int(out[4]); got != len(out)-1 {
		t.Fatalf("length field %d, message is %d bytes", got, len(out)-1)
	}
}

func TestGS2Flag(t *testing.T) {
	for _, tc := range []struct {
		data string
		want byte
	}{
		{"n,,n=,r=abc", 'n'},
		{"y,,n=,r=abc", 'y'},
		{"p=tls-server-end-point,,n=,r=abc", 'p'},
		{"", 0},
	} {
		msg := encode(t, &pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256", Data: []byte(tc.data)})
		if got := gs2Flag(msg); got != tc.want {
			t.Errorf("gs2Flag(%q) = %q, want %q", tc.data, got, tc.want)
		}
	}
	if got := gs2Flag([]byte{'p', 0, 0, 0, 4}); got != 0 {
		t.Errorf("empty message: %q", got)
	}
}
