// gointerop drives a real hashicorp/yamux session against our TypeScript one.
//
// It dials the unix socket the TypeScript test listens on and runs yamux in the
// role given by -role. Built in GOPATH mode against Debian's
// golang-github-hashicorp-yamux-dev (see ../../testing/go-interop.ts).
//
// Output: one line per check on stdout, "OK <name> <details>" or
// "FAIL <name> <details>", then "DONE pass=<n> fail=<m>". yamux's own log goes
// to stderr. Exit status 1 when any check failed.
//
// Scenarios:
//
//	-role client -scenario interop: the Mattermost role. Opens 3 concurrent streams
//	  and echoes 10 B, 300 KiB and 5 MiB over each, then FIN and EOF; echoes every
//	  stream the peer opens; pings 3 times; stays connected -duration with
//	  keepalive; checks no stream is left open; closes.
//	-role server -scenario interop: echoes every stream the peer opens (until EOF,
//	  then Close); opens one stream itself, writes 1 MiB while reading the echo,
//	  then closes it; pings 3 times; waits for the peer to close the session.
//	-scenario bench: client opens one stream and echoes -bytes through it, printing
//	  "BENCH <bytes> <seconds>"; server echoes whatever the peer opens. With -listen
//	  the process listens on -sock (printing "LISTENING") instead of dialing, so two
//	  of them give a Go↔Go baseline.
package main

import (
	"bytes"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
)

var (
	passed int32
	failed int32
	outMu  sync.Mutex
)

func ok(name, format string, args ...interface{}) {
	atomic.AddInt32(&passed, 1)
	outMu.Lock()
	fmt.Printf("OK %s %s\n", name, fmt.Sprintf(format, args...))
	outMu.Unlock()
}

func fail(name, format string, args ...interface{}) {
	atomic.AddInt32(&failed, 1)
	outMu.Lock()
	fmt.Printf("FAIL %s %s\n", name, fmt.Sprintf(format, args...))
	outMu.Unlock()
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// echoRoundTrip writes payload on st while reading the same number of bytes back.
func echoRoundTrip(st *yamux.Stream, payload []byte, timeout time.Duration) error {
	_ = st.SetDeadline(time.Now().Add(timeout))
	defer func() { _ = st.SetDeadline(time.Time{}) }()
	werr := make(chan error, 1)
	go func() {
		_, err := st.Write(payload)
		werr <- err
	}()
	got := make([]byte, len(payload))
	if _, err := io.ReadFull(st, got); err != nil {
		return fmt.Errorf("read echo: %v", err)
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("write: %v", err)
	}
	if !bytes.Equal(got, payload) {
		return fmt.Errorf("echo differs")
	}
	return nil
}

// echoStream copies a stream back to itself until EOF, then closes it.
func echoStream(st *yamux.Stream, name string) {
	n, err := io.Copy(st, st)
	if err != nil {
		fail(name, "stream %d: echo after %d bytes: %v", st.StreamID(), n, err)
	} else {
		ok(name, "stream %d: echoed %d bytes until EOF", st.StreamID(), n)
	}
	_ = st.Close()
}

func config(keepAlive, writeTimeout time.Duration) *yamux.Config {
	cfg := yamux.DefaultConfig()
	cfg.KeepAliveInterval = keepAlive
	cfg.ConnectionWriteTimeout = writeTimeout
	cfg.LogOutput = os.Stderr
	return cfg
}

func pings(sess *yamux.Session) {
	for i := 0; i < 3; i++ {
		rtt, err := sess.Ping()
		if err != nil {
			fail("ping", "#%d: %v", i, err)
		} else {
			ok("ping", "#%d: rtt %v", i, rtt)
		}
	}
}

func clientInterop(sess *yamux.Session, duration time.Duration) {
	start := time.Now()
	var accepted sync.WaitGroup
	go func() {
		for {
			st, err := sess.AcceptStream()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer accepted.Done()
				echoStream(st, "peer-opened-echo")
			}()
		}
	}()

	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			st, err := sess.OpenStream()
			if err != nil {
				fail("open", "stream #%d: %v", i, err)
				return
			}
			for _, size := range []int{10, 300 * 1024, 5 * 1024 * 1024} {
				if err := echoRoundTrip(st, randomBytes(size), 20*time.Second); err != nil {
					fail("echo", "stream %d, %d bytes: %v", st.StreamID(), size, err)
					return
				}
				ok("echo", "stream %d: %d bytes", st.StreamID(), size)
			}
			if err := st.Close(); err != nil {
				fail("fin", "stream %d: %v", st.StreamID(), err)
				return
			}
			_ = st.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := st.Read(make([]byte, 1)); err != io.EOF {
				fail("eof", "stream %d: read %d, %v after FIN", st.StreamID(), n, err)
				return
			}
			ok("eof", "stream %d", st.StreamID())
		}(i)
	}
	wg.Wait()
	pings(sess)

	// Stay connected so keepalive pings flow both ways.
	time.Sleep(time.Until(start.Add(duration)))
	accepted.Wait()
	if sess.IsClosed() {
		fail("session", "closed early")
	} else {
		ok("session", "alive after %v", time.Since(start).Round(time.Millisecond))
	}
	// Every stream must be closed both ways by now (our FIN and the peer's).
	if n := sess.NumStreams(); n != 0 {
		fail("streams-closed", "%d streams still open", n)
	} else {
		ok("streams-closed", "0 open streams")
	}
	_ = sess.Close()
}

func serverInterop(sess *yamux.Session, duration time.Duration) {
	go func() {
		for {
			st, err := sess.AcceptStream()
			if err != nil {
				return
			}
			go echoStream(st, "peer-opened-echo")
		}
	}()

	// A stream of our own: write and read concurrently, close only after the whole
	// echo came back (the Debian yamux ends reads early after its own Close).
	st, err := sess.OpenStream()
	if err != nil {
		fail("open", "%v", err)
	} else if err := echoRoundTrip(st, randomBytes(1024*1024), 20*time.Second); err != nil {
		fail("own-stream-echo", "stream %d: %v", st.StreamID(), err)
	} else {
		ok("own-stream-echo", "stream %d: 1048576 bytes", st.StreamID())
		_ = st.Close()
	}
	pings(sess)

	select {
	case <-sess.CloseChan():
		ok("peer-close", "session closed by peer")
	case <-time.After(duration):
		fail("peer-close", "peer did not close the session within %v", duration)
		_ = sess.Close()
	}
}

func clientBench(sess *yamux.Session, size int) {
	st, err := sess.OpenStream()
	if err != nil {
		fail("open", "%v", err)
		return
	}
	payload := randomBytes(size)
	start := time.Now()
	if err := echoRoundTrip(st, payload, 120*time.Second); err != nil {
		fail("bench", "%v", err)
		return
	}
	elapsed := time.Since(start)
	fmt.Printf("BENCH %d %.6f\n", size, elapsed.Seconds())
	_ = st.Close()
	_ = sess.Close()
}

func serverBench(sess *yamux.Session) {
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			return
		}
		go func() {
			_, _ = io.Copy(st, st)
			_ = st.Close()
		}()
	}
}

func main() {
	role := flag.String("role", "client", "yamux role: client or server")
	sock := flag.String("sock", "", "unix socket path to dial")
	scenario := flag.String("scenario", "interop", "interop or bench")
	duration := flag.Duration("duration", 10*time.Second, "interop: how long the session lives (client) or waits for the peer to close (server)")
	keepAlive := flag.Duration("keepalive", time.Second, "yamux KeepAliveInterval")
	writeTimeout := flag.Duration("write-timeout", 3*time.Second, "yamux ConnectionWriteTimeout")
	size := flag.Int("bytes", 256*1024*1024, "bench: bytes to echo")
	listen := flag.Bool("listen", false, "listen on -sock and take one connection instead of dialing (Go↔Go baseline)")
	flag.Parse()

	var conn net.Conn
	var err error
	if *listen {
		var l net.Listener
		if l, err = net.Listen("unix", *sock); err == nil {
			fmt.Println("LISTENING")
			conn, err = l.Accept()
			_ = l.Close()
		}
	} else {
		conn, err = net.Dial("unix", *sock)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "connect: %v\n", err)
		os.Exit(2)
	}
	cfg := config(*keepAlive, *writeTimeout)
	var sess *yamux.Session
	if *role == "client" {
		sess, err = yamux.Client(conn, cfg)
	} else {
		sess, err = yamux.Server(conn, cfg)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "session: %v\n", err)
		os.Exit(2)
	}

	switch {
	case *scenario == "bench" && *role == "client":
		clientBench(sess, *size)
	case *scenario == "bench":
		serverBench(sess)
	case *role == "client":
		clientInterop(sess, *duration)
	default:
		serverInterop(sess, *duration)
	}
	fmt.Printf("DONE pass=%d fail=%d\n", atomic.LoadInt32(&passed), atomic.LoadInt32(&failed))
	if atomic.LoadInt32(&failed) > 0 {
		os.Exit(1)
	}
}
