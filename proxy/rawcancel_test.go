package proxy

import (
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// sendRawCancel sends a CancelRequest for (pid, secret) to addr.
func sendRawCancel(t *testing.T, addr string, pid, secret uint32) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var pkt [16]byte
	binary.BigEndian.PutUint32(pkt[0:], 16)
	binary.BigEndian.PutUint32(pkt[4:], cancelRequestCode)
	binary.BigEndian.PutUint32(pkt[8:], pid)
	binary.BigEndian.PutUint32(pkt[12:], secret)
	if _, err := conn.Write(pkt[:]); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var one [1]byte
	_, _ = conn.Read(one[:]) // belay closes after forwarding
}
