package main

import (
	"encoding/binary"
	"strings"
	"testing"
)

func hdr(typ byte, flags uint16, id, length uint32) []byte {
	b := make([]byte, 12)
	b[1] = typ
	binary.BigEndian.PutUint16(b[2:], flags)
	binary.BigEndian.PutUint32(b[4:], id)
	binary.BigEndian.PutUint32(b[8:], length)
	return b
}

func TestTapFlagsMissingAckAndWindowOverrun(t *testing.T) {
	tr := newYamuxTracker()
	host := &frameParser{t: tr}
	plug := &frameParser{t: tr, fromPlugin: true}
	// Host opens streams 1 and 3; the plugin ACKs only 3 (split across feeds).
	host.feed(hdr(yTypeWindow, yFlagSYN, 1, 0))
	host.feed(hdr(yTypeWindow, yFlagSYN, 3, 0))
	ack := hdr(yTypeWindow, yFlagACK, 3, 0)
	plug.feed(ack[:5])
	plug.feed(ack[5:])
	// Plugin opens stream 2 and sends 256 KiB + 1 byte without a window update.
	plug.feed(hdr(yTypeWindow, yFlagSYN, 2, 0))
	plug.feed(append(hdr(yTypeData, 0, 2, yInitialWindow+1), make([]byte, yInitialWindow+1)...))
	// Plugin opens an odd stream id.
	plug.feed(hdr(yTypeWindow, yFlagSYN, 5, 0))
	r := tr.report()
	if len(r.unacked) != 1 || r.unacked[0] != 1 {
		t.Fatalf("unacked = %v, want [1]", r.unacked)
	}
	all := strings.Join(r.violations, "\n")
	for _, want := range []string{"beyond the send window on stream 2", "odd stream id 5"} {
		if !strings.Contains(all, want) {
			t.Errorf("violations %q lack %q", all, want)
		}
	}
}

func TestTapWindowUpdatesAllowMoreData(t *testing.T) {
	tr := newYamuxTracker()
	host := &frameParser{t: tr}
	plug := &frameParser{t: tr, fromPlugin: true}
	plug.feed(hdr(yTypeWindow, yFlagSYN, 2, 0))
	host.feed(hdr(yTypeWindow, yFlagACK, 2, 0))
	plug.feed(append(hdr(yTypeData, 0, 2, yInitialWindow), make([]byte, yInitialWindow)...))
	host.feed(hdr(yTypeWindow, 0, 2, 1000))
	plug.feed(append(hdr(yTypeData, 0, 2, 1000), make([]byte, 1000)...))
	host.feed(hdr(yTypePing, yFlagSYN, 0, 7))
	plug.feed(hdr(yTypePing, yFlagACK, 0, 7))
	r := tr.report()
	if len(r.violations) != 0 || len(r.pingRTT) != 1 || r.pluginOpened != 1 {
		t.Fatalf("report %+v", r)
	}
}

func TestParseHandshake(t *testing.T) {
	good := []string{"1|1|unix|/tmp/plugin1|netrpc|", "1|1|unix|/tmp/plugin1|netrpc", "1|1|tcp|127.0.0.1:10000|netrpc|"}
	bad := []string{"1|1|unix|/tmp/p|grpc|", "2|1|unix|/tmp/p|netrpc|", "1|2|unix|/tmp/p|netrpc|", "1|1|tcp|0.0.0.0:1|netrpc|", "1|1|unix|/tmp/p|netrpc||x", "1|1|unix|/tmp/p"}
	for _, l := range good {
		if _, err := parseHandshake(l); err != nil {
			t.Errorf("%q: %v", l, err)
		}
	}
	for _, l := range bad {
		if _, err := parseHandshake(l); err == nil {
			t.Errorf("%q accepted", l)
		}
	}
}
