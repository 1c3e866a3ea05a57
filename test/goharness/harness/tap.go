package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"reflect"
	"sort"
	"sync"
	"time"
	"unsafe"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/hashicorp/yamux"
)

// The Debian yamux (2019 snapshot) the harness links is more lenient than the
// yamux v0.1.x inside Mattermost: it has no StreamOpenTimeout (a v0.1.x opener
// tears the whole session down when a SYN is not ACKed within 75 s). The tap below
// parses the yamux frames on a raw-launched session so such behaviour can be
// checked explicitly instead of passing silently.

const (
	yTypeData   = 0
	yTypeWindow = 1
	yTypePing   = 2
	yTypeGoAway = 3

	yFlagSYN = 1
	yFlagACK = 2
	yFlagFIN = 4
	yFlagRST = 8

	yInitialWindow = 256 * 1024
)

type yStream struct {
	opener     string // "host" or "plugin"
	synAt      time.Time
	ackAt      time.Time
	sendWindow int64 // plugin's send window as seen by the host
	dataBytes  int64 // data bytes the plugin sent on it
	rst        bool
}

// yamuxTracker collects protocol observations from both directions.
type yamuxTracker struct {
	mu         sync.Mutex
	streams    map[uint32]*yStream
	violations []string
	pings      map[uint32]time.Time // host ping id -> sent
	pingRTT    []time.Duration
	goAways    []uint32
	frames     [2]int
}

func newYamuxTracker() *yamuxTracker {
	return &yamuxTracker{streams: map[uint32]*yStream{}, pings: map[uint32]time.Time{}}
}

func (t *yamuxTracker) violate(format string, args ...interface{}) {
	if len(t.violations) < 20 {
		t.violations = append(t.violations, fmt.Sprintf(format, args...))
	}
}

func (t *yamuxTracker) stream(id uint32) *yStream {
	s := t.streams[id]
	if s == nil {
		s = &yStream{sendWindow: yInitialWindow}
		t.streams[id] = s
	}
	return s
}

// frame handles one parsed header; fromPlugin tells the direction.
func (t *yamuxTracker) frame(fromPlugin bool, ver, typ byte, flags uint16, id, length uint32) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	dir := 0
	if fromPlugin {
		dir = 1
	}
	t.frames[dir]++
	if !fromPlugin {
		switch typ {
		case yTypeData, yTypeWindow:
			s := t.stream(id)
			if flags&yFlagSYN != 0 {
				s.opener, s.synAt = "host", now
			}
			if typ == yTypeWindow {
				s.sendWindow += int64(length)
			}
		case yTypePing:
			if flags&yFlagSYN != 0 {
				t.pings[length] = now
			}
		}
		return
	}
	if ver != 0 {
		t.violate("plugin frame with version %d", ver)
	}
	switch typ {
	case yTypeData, yTypeWindow:
		if id == 0 {
			t.violate("plugin %s frame on stream 0", frameName(typ))
			return
		}
		s, known := t.streams[id]
		if flags&yFlagSYN != 0 {
			if known {
				t.violate("plugin SYN for existing stream %d", id)
			} else if id%2 != 0 {
				t.violate("plugin opened odd stream id %d (the yamux server uses even ids)", id)
			}
			s = t.stream(id)
			s.opener, s.synAt = "plugin", now
		} else if !known {
			t.violate("plugin %s frame on stream %d without SYN", frameName(typ), id)
			s = t.stream(id)
		}
		if flags&yFlagACK != 0 && s.opener == "host" && s.ackAt.IsZero() {
			s.ackAt = now
		}
		if flags&yFlagRST != 0 {
			s.rst = true
		}
		if typ == yTypeData {
			s.dataBytes += int64(length)
			s.sendWindow -= int64(length)
			if s.sendWindow < 0 {
				t.violate("plugin sent %d bytes beyond the send window on stream %d", -s.sendWindow, id)
				s.sendWindow = 0
			}
		}
	case yTypePing:
		if id != 0 {
			t.violate("plugin ping on stream %d", id)
		}
		if flags&yFlagACK != 0 {
			if at, ok := t.pings[length]; ok {
				t.pingRTT = append(t.pingRTT, now.Sub(at))
				delete(t.pings, length)
			} else {
				t.violate("plugin ping ACK %d for no outstanding ping", length)
			}
		}
	case yTypeGoAway:
		t.goAways = append(t.goAways, length)
	default:
		t.violate("plugin frame with unknown type %d", typ)
	}
}

func frameName(typ byte) string {
	switch typ {
	case yTypeData:
		return "Data"
	case yTypeWindow:
		return "WindowUpdate"
	case yTypePing:
		return "Ping"
	case yTypeGoAway:
		return "GoAway"
	}
	return fmt.Sprintf("type-%d", typ)
}

// frameParser splits a byte stream into yamux frames.
type frameParser struct {
	t          *yamuxTracker
	fromPlugin bool
	buf        []byte
	skip       uint32 // payload bytes still to skip
	broken     bool
}

func (p *frameParser) feed(b []byte) {
	if p.broken {
		return
	}
	for len(b) > 0 {
		if p.skip > 0 {
			n := uint32(len(b))
			if n > p.skip {
				n = p.skip
			}
			p.skip -= n
			b = b[n:]
			continue
		}
		need := 12 - len(p.buf)
		if need > len(b) {
			p.buf = append(p.buf, b...)
			return
		}
		p.buf = append(p.buf, b[:need]...)
		b = b[need:]
		h := p.buf
		p.buf = p.buf[:0]
		ver, typ := h[0], h[1]
		flags := binary.BigEndian.Uint16(h[2:4])
		id := binary.BigEndian.Uint32(h[4:8])
		length := binary.BigEndian.Uint32(h[8:12])
		p.t.frame(p.fromPlugin, ver, typ, flags, id, length)
		if typ == yTypeData {
			p.skip = length
		}
		if ver != 0 || typ > yTypeGoAway {
			p.broken = true // cannot resynchronise
			return
		}
	}
}

// tapConn records yamux frames passing through the host's connection.
type tapConn struct {
	net.Conn
	in, out *frameParser
	mu      sync.Mutex
}

func newTapConn(c net.Conn, t *yamuxTracker) *tapConn {
	return &tapConn{Conn: c, in: &frameParser{t: t, fromPlugin: true}, out: &frameParser{t: t}}
}

func (c *tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.in.feed(b[:n])
	}
	return n, err
}

func (c *tapConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.out.feed(b) // before the bytes leave, so a SYN is recorded before its ACK
	c.mu.Unlock()
	return c.Conn.Write(b)
}

// report summarises the observations (call after traffic has settled).
type yamuxReport struct {
	violations   []string
	hostStreams  int
	unacked      []uint32
	maxAck       time.Duration
	pluginOpened int
	pingRTT      []time.Duration
	goAways      []uint32
}

func (t *yamuxTracker) report() yamuxReport {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := yamuxReport{violations: append([]string(nil), t.violations...), pingRTT: append([]time.Duration(nil), t.pingRTT...), goAways: append([]uint32(nil), t.goAways...)}
	var ids []uint32
	for id := range t.streams {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		s := t.streams[id]
		switch s.opener {
		case "host":
			r.hostStreams++
			if s.ackAt.IsZero() && !s.rst {
				r.unacked = append(r.unacked, id)
			} else if d := s.ackAt.Sub(s.synAt); d > r.maxAck {
				r.maxAck = d
			}
		case "plugin":
			r.pluginOpened++
		}
	}
	return r
}

// ------------------------------------------------------------ yamux access

// yamuxSession digs the host's yamux session out of go-plugin's RPC client (the
// 1.0.1 API does not expose it); nil if the layout is unexpected.
func yamuxSession(proto goplugin.ClientProtocol) *yamux.Session {
	rc, ok := proto.(*goplugin.RPCClient)
	if !ok || rc == nil {
		return nil
	}
	bf := reflect.ValueOf(rc).Elem().FieldByName("broker")
	if !bf.IsValid() || bf.Type() != reflect.TypeOf((*goplugin.MuxBroker)(nil)) {
		return nil
	}
	broker := *(**goplugin.MuxBroker)(unsafe.Pointer(bf.UnsafeAddr()))
	if broker == nil {
		return nil
	}
	sf := reflect.ValueOf(broker).Elem().FieldByName("session")
	if !sf.IsValid() || sf.Type() != reflect.TypeOf((*yamux.Session)(nil)) {
		return nil
	}
	return *(**yamux.Session)(unsafe.Pointer(sf.UnsafeAddr()))
}
