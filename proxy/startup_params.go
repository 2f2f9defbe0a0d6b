package proxy

import (
	"encoding/binary"
	"maps"

	"github.com/jackc/pgx/v5/pgproto3"
)

// upstreamStartup is the StartupMessage belay sends PostgreSQL: the
// client's, with the Inspector's settings in place of any the client
// sent under the same names.
func (s *session) upstreamStartup(sp *startupPacket) []byte {
	p, ok := s.srv.inspector.Load().Inspector.(StartupParamer)
	if !ok {
		return sp.raw
	}
	extra := p.StartupParams(&s.info)
	if len(extra) == 0 {
		return sp.raw
	}
	params := maps.Clone(sp.params)
	maps.Copy(params, extra)
	msg := pgproto3.StartupMessage{ProtocolVersion: binary.BigEndian.Uint32(sp.raw[4:8]), Parameters: params}
	b, err := msg.Encode(nil)
	if err != nil { // only for messages over 1 GB, which a startup never is
		return sp.raw
	}
	return b
}
