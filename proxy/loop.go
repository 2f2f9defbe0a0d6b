package proxy

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// eventLoop relays authenticated plain-TCP sessions. Goroutines cost
// scheduler work on every wake-up (a park, a netpoll, often a thread
// switch); on a small machine that is most of a relay's CPU. So, once a
// session is past startup, its two sockets are handed to a loop: one
// goroutine waiting in epoll_wait (level-triggered) on many sessions, doing
// raw read and write calls, PgBouncer's design. The guard's decisions are
// the same code on both paths; TLS sessions stay on goroutines.
type eventLoop struct {
	epfd int
	wake int // eventfd: commands are waiting
	log  *zap.Logger

	mu      sync.Mutex
	cmds    []loopCmd
	stopped bool // the loop's descriptors are closed: drop commands

	byFD map[int]*loopSession // owned by the loop goroutine
}

type cmdKind uint8

const (
	cmdAdopt cmdKind = iota + 1
	cmdClose
	cmdShutdownIdle
	cmdHoldTimeout
	cmdStop
)

type loopCmd struct {
	kind cmdKind
	ls   *loopSession
}

// yieldEvery is below the runtime's 10 ms preemption horizon.
const yieldEvery = 5 * time.Millisecond

func newEventLoop(log *zap.Logger) (*eventLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	l := &eventLoop{epfd: epfd, wake: wake, log: log, byFD: make(map[int]*loopSession)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}); err != nil {
		return nil, fmt.Errorf("epoll_ctl eventfd: %w", err)
	}
	go l.run()
	return l, nil
}

// command queues work for the loop goroutine and wakes it.
func (l *eventLoop) command(c loopCmd) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		if c.kind == cmdAdopt { // nobody will run it: release its session
			c.ls.end(net.ErrClosed)
		}
		return
	}
	l.cmds = append(l.cmds, c)
	one := [8]byte{1}
	_, _ = unix.Write(l.wake, one[:])
}

func (l *eventLoop) run() {
	events := make([]unix.EpollEvent, 256)
	var cmds []loopCmd
	lastYield := time.Now()
	for {
		// A goroutine that never passes through the scheduler looks stuck
		// to the runtime after 10 ms: it takes the loop's processor away
		// during epoll_wait and keeps its monitor thread waking every
		// 20 µs, which costs more CPU than the relay. Yielding every few
		// milliseconds (not every batch: each yield wakes another thread)
		// keeps the runtime quiet.
		if now := time.Now(); now.Sub(lastYield) > yieldEvery {
			runtime.Gosched()
			lastYield = now
		}
		n, err := unix.EpollWait(l.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			l.log.Error("epoll_wait failed; event loop stopped", zap.Error(err))
			return
		}
		for i := 0; i < n; i++ {
			fd := int(events[i].Fd)
			if fd == l.wake {
				var buf [8]byte
				_, _ = unix.Read(l.wake, buf[:])
				l.mu.Lock()
				cmds, l.cmds = l.cmds, cmds[:0]
				l.mu.Unlock()
				for _, c := range cmds {
					if c.kind == cmdStop {
						l.stop()
						return
					}
					l.do(c)
				}
				continue
			}
			if ls := l.byFD[fd]; ls != nil {
				ls.event(fd, events[i].Events)
			}
		}
	}
}

func (l *eventLoop) do(c loopCmd) {
	ls := c.ls
	if ls.ended && c.kind != cmdAdopt {
		// Its descriptors are closed and their numbers may already belong
		// to another connection: nothing may be written to them.
		return
	}
	switch c.kind {
	case cmdAdopt:
		if err := ls.start(); err != nil {
			ls.end(err)
			return
		}
		ls.updateInterest()
	case cmdClose:
		ls.end(net.ErrClosed)
	case cmdShutdownIdle:
		ls.writeClientBestEffort(shutdownNotice())
		ls.end(errShutdown)
	case cmdHoldTimeout:
		if req := ls.sess.expireHold(); req != nil {
			if err := ls.up.emit(req); err != nil {
				ls.end(err)
				return
			}
			ls.updateInterest()
		}
	}
}

// stop ends every session still on the loop and releases the loop.
func (l *eventLoop) stop() {
	for _, ls := range l.byFD {
		ls.end(net.ErrClosed)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	for _, c := range l.cmds { // sessions adopted after the stop was queued
		if c.kind == cmdAdopt {
			c.ls.end(net.ErrClosed)
		}
	}
	unix.Close(l.epfd)
	unix.Close(l.wake)
}

// loopSet spreads sessions over loops, one per CPU belay may use.
type loopSet struct {
	loops []*eventLoop
	next  uint32
	mu    sync.Mutex
}

func newLoopSet(n int, log *zap.Logger) (*loopSet, error) {
	set := &loopSet{}
	for i := 0; i < n; i++ {
		l, err := newEventLoop(log)
		if err != nil {
			return nil, err
		}
		set.loops = append(set.loops, l)
	}
	return set, nil
}

func (s *loopSet) pick() *eventLoop {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.loops[int(s.next)%len(s.loops)]
	s.next++
	return l
}

// stop ends every loop (after Server.Shutdown, when no session is left).
func (s *loopSet) stop() {
	for _, l := range s.loops {
		l.command(loopCmd{kind: cmdStop})
	}
}
