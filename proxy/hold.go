package proxy

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/belay-proxy/belay/policy"
)

// A hold runs a write from a holding profile inside a transaction that
// only the operator's COMMIT applies (hold_client.go, hold_server.go).
//
// Holding sessions run in lockstep: a request (a Query, or an extended
// batch up to its Sync) is forwarded only when nothing is in flight, so
// every answer PostgreSQL sends belongs to a request belay knows, and its
// own statements can be placed between the client's without reordering:
//
//   - simple Query that may write, outside a transaction: sent as
//     "BEGIN; SET LOCAL …; <text>", belay's CommandCompletes removed;
//   - extended batch that may write: belay's Query goes before the batch's
//     Sync ("SELECT 1 AS <marker>; [BEGIN; SET LOCAL …;] <check>"). A BEGIN
//     inside the batch's implicit transaction turns it into a transaction
//     block, so the Sync commits nothing;
//   - after the client's request, its ReadyForQuery is held back while
//     belay asks PostgreSQL what was written (the check), then decides:
//     hold (NOTICE, status 'T'), end quietly (nothing written), or roll
//     back with an error (row cap, expectation, LIMIT guard).
//
// Everything belay sends of its own is answered in full before the client
// sees the held ReadyForQuery, so client and server always agree.

// holdPhase says what the server's next messages answer.
type holdPhase uint8

const (
	phaseIdle   holdPhase = iota
	phaseClient           // the client's held Query; belay's prefix answers first
	phaseBatch            // a held extended batch with belay's Query before its Sync
	phaseOwn              // a request of belay's own: swallowed up to its ReadyForQuery
)

// ownStep is what belay's own request was for.
type ownStep uint8

const (
	stepCheck    ownStep = iota + 1 // count what the client's request wrote
	stepFinish                      // COMMIT, ROLLBACK or ROLLBACK-and-fail; then answer the client
	stepExpire                      // the hold timed out: roll back, leave an aborted transaction
	stepBaseline                    // the counts at the head of an extended batch that may write (no ReadyForQuery of its own)
	stepRecord                      // record the change (belay.record_change), then hold it
)

// heldRequest is the client request the machine is watching.
type heldRequest struct {
	opened bool  // belay opened the transaction for it
	expect int64 // rows expected (belay:expect, SET belay.expect_rows); -1 none
	limit  int64 // UPDATE/DELETE … LIMIT n; -1 none
	// reported sums the rows of the request's INSERT, UPDATE, DELETE,
	// MERGE and COPY CommandCompletes; dml says one came.
	reported int64
	dml      bool
	// statements is the request's normalised text, for the record of the
	// change when the profile captures.
	statements []byte
	textHashes []string // SHA-256 of each exact text, with statements
	// quarantined names the tables a DROP TABLE moved to belay_quarantine;
	// the client is told DROP TABLE, not belay's DO.
	quarantined []string
}

// holdState is one session's hold machine. Client side and server side
// both use it (two goroutines in the goroutine relay), hence the mutex;
// engaged lets the server side skip it while nothing is held.
type holdState struct {
	mu      sync.Mutex
	engaged atomic.Bool

	phase holdPhase
	step  ownStep
	// baselineCloses counts the baseline's CloseCompletes: the second is
	// its last answer.
	baselineCloses int
	// prefixLeft counts the CommandCompletes of belay's BEGIN prefix still
	// to remove; inOwn and ownDone track belay's Query inside a batch.
	prefixLeft int
	inOwn      bool
	ownDone    bool
	ownErr     *pgError // PostgreSQL's error for belay's own statement
	req        heldRequest
	profile    *policy.Profile
	check      checkResult
	checked    bool
	// base is what PostgreSQL's counters said when the transaction's first
	// write began: they also hold earlier transactions' counts until the
	// backend flushes them (at most once a second), so only the difference
	// is this transaction's.
	base      checkResult
	baseKnown bool
	// captured counts the rows the transaction's capture copied so far,
	// and capturedBytes the size of their images.
	captured, capturedBytes int64
	// notCaptured names the tables whose rows changed without a
	// before-image, in a profile that allows it (uncaptured: allow).
	notCaptured []string
	// afterBaseline is the phase to enter when the baseline is in: the
	// batch's Sync may be screened before it arrives.
	afterBaseline holdPhase
	record        string // the id belay.record_change returned
	preview       string // belay.preview's lines: the change's first rows
	heldZ         []byte // the client's ReadyForQuery, held back
	answer        []byte // belay's answer to send before it (stepFinish)
	lastTag       string // of the last CommandComplete the client got

	// The open hold: a transaction belay opened that wrote something.
	open     bool
	change   string // the transaction's id
	tables   []tableCount
	total    int64
	openedAt time.Time
	deadline time.Time // idle past this, it is rolled back
	timer    *time.Timer

	// timedOut: the hold was rolled back after its timeout; the client's
	// next request learns it. change keeps its id until then.
	timedOut bool

	// expectNext is SET belay.expect_rows, for the next write; -1 none.
	expectNext int64

	// Extended protocol: what each prepared statement does, and whether
	// the batch since the last Sync runs one that may write.
	stmts           map[string]stmtHold
	batchWatched    bool
	batchExpect     int64
	batchLimit      int64
	batchStatements []byte
	batchTextHashes []string
}

// stmtHold is what a prepared statement means to a hold.
type stmtHold struct {
	watch      bool
	expect     int64
	limit      int64
	statements []byte // normalised, when the profile captures
	textHash   string
	commits    bool // COMMIT, END: refused after a write in the same batch
	rollback   bool // ROLLBACK and the like: let through after a timeout
	// setsExpect: SET belay.expect_rows = expectRows (-1: RESET), noted
	// when bound; PostgreSQL keeps it as a harmless custom setting.
	setsExpect bool
	expectRows int64
}

func (h *holdState) init() {
	h.expectNext = -1
}

// transactionEnded forgets what the ended transaction wrote and captured.
func (h *holdState) transactionEnded() {
	h.total, h.tables, h.baseKnown, h.captured, h.capturedBytes, h.notCaptured = 0, nil, false, 0, 0, nil
}

// tableCount is what a transaction did to one table so far.
type tableCount struct {
	name                       string
	inserted, updated, deleted int64
	bytes                      int64  // captured: the size of its before-images
	root                       string // a partition's root table; "" for others
}

func (t tableCount) rows() int64 { return t.inserted + t.updated + t.deleted }
