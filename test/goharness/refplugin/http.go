package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/rpc"
	"os"
	"strconv"
	"time"

	"mmharness/mmtypes"
)

// rpcResponseWriter is the plugin side of the response-writer stream: every Write /
// WriteHeader is an RPC to the host, preceded by SyncHeader with the full header map
// (the host replaces its header map with it); Header is fetched lazily.
type rpcResponseWriter struct {
	c      *rpc.Client
	header http.Header
}

func (w *rpcResponseWriter) Header() http.Header {
	if w.header == nil {
		if err := w.c.Call("Plugin.Header", struct{}{}, &w.header); err != nil || w.header == nil {
			w.header = http.Header{}
		}
	}
	return w.header
}

func (w *rpcResponseWriter) Write(b []byte) (int, error) {
	if err := w.c.Call("Plugin.SyncHeader", w.header, nil); err != nil {
		return 0, err
	}
	if err := w.c.Call("Plugin.Write", b, nil); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (w *rpcResponseWriter) WriteHeader(status int) {
	if err := w.c.Call("Plugin.SyncHeader", w.header, nil); err != nil {
		return
	}
	_ = w.c.Call("Plugin.WriteHeader", status, nil)
}

// remoteReader pulls the request body: send a varint with the wanted byte count,
// then read what the host copies; the host closes the stream at the end of the body.
type remoteReader struct {
	conn io.ReadWriteCloser
}

func (r *remoteReader) Read(b []byte) (int, error) {
	var buf [binary.MaxVarintLen64]byte
	n := binary.PutVarint(buf[:], int64(len(b)))
	if _, err := r.conn.Write(buf[:n]); err != nil {
		return 0, err
	}
	return r.conn.Read(b)
}

func (r *remoteReader) Close() error { return r.conn.Close() }

type handlerFunc func(c *mmtypes.Context, w http.ResponseWriter, r *http.Request)

func (s *hooksServer) serveHTTP(args *mmtypes.Z_ServeHTTPArgs, h handlerFunc) error {
	conn, err := s.broker.Dial(args.ResponseWriterStream)
	if err != nil {
		fmt.Fprintf(os.Stderr, "[ERROR] Can't connect to remote response writer stream, error: %v\n", err)
		return err
	}
	w := &rpcResponseWriter{c: rpc.NewClient(conn)}
	defer w.c.Close()

	sub := args.Request
	if sub == nil {
		sub = &mmtypes.HTTPRequestSubset{Method: "GET"}
	}
	r := &http.Request{
		Method:     sub.Method,
		URL:        sub.URL,
		Proto:      sub.Proto,
		ProtoMajor: sub.ProtoMajor,
		ProtoMinor: sub.ProtoMinor,
		Header:     sub.Header,
		Host:       sub.Host,
		RemoteAddr: sub.RemoteAddr,
		RequestURI: sub.RequestURI,
	}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	if args.RequestBodyStream != 0 && !(fault("no-body-dial") && sub.Method == http.MethodGet) {
		bodyConn, err := s.broker.Dial(args.RequestBodyStream)
		if err != nil {
			fmt.Fprintf(os.Stderr, "[ERROR] Can't connect to remote request body stream, error: %v\n", err)
			return err
		}
		r.Body = &remoteReader{conn: bodyConn}
	} else {
		r.Body = io.NopCloser(&bytes.Buffer{})
	}
	defer r.Body.Close()

	h(args.Context, w, r)
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"marshal"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *hooksServer) route(c *mmtypes.Context, w http.ResponseWriter, r *http.Request) {
	path := ""
	if r.URL != nil {
		path = r.URL.Path
	}
	switch {
	case r.Method == http.MethodGet && path == "/conformance/hello":
		ct := "text/plain; charset=utf-8"
		if fault("bad-hello") {
			ct = "text/plain"
		}
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write([]byte("hello " + r.Header.Get("Mattermost-User-Id")))
	case r.Method == http.MethodPost && path == "/conformance/echo":
		h := sha256.New()
		var body io.Reader = r.Body
		if fault("echo-truncate") {
			body = io.LimitReader(r.Body, 1<<20)
		}
		n, err := io.Copy(h, body)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]interface{}{"bytes": n, "sha256": hex.EncodeToString(h.Sum(nil))})
	case r.Method == http.MethodGet && path == "/conformance/download":
		s.download(w, r)
	case r.Method == http.MethodPost && path == "/conformance/api":
		writeJSON(w, http.StatusOK, s.apiScript())
	case r.Method == http.MethodPost && path == "/conformance/busy":
		secs, _ := strconv.ParseFloat(r.URL.Query().Get("seconds"), 64)
		done := make(chan struct{})
		go func() { // CPU work off the RPC goroutine
			defer close(done)
			burnCPU(time.Duration(secs * float64(time.Second)))
		}()
		<-done
		writeJSON(w, http.StatusOK, map[string]bool{"done": true})
	default:
		http.NotFound(w, r)
	}
}

// download streams `bytes` bytes where byte i == i % 251, in `chunk`-sized writes
// (default 1 MiB).
func (s *hooksServer) download(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	total, err := strconv.ParseInt(q.Get("bytes"), 10, 64)
	if err != nil || total < 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad bytes"})
		return
	}
	chunk := int64(1 << 20)
	if c, err := strconv.ParseInt(q.Get("chunk"), 10, 64); err == nil && c > 0 {
		chunk = c
	}
	// A period-251 pattern buffer large enough to slice any chunk at any offset.
	pattern := make([]byte, chunk+251)
	for i := range pattern {
		pattern[i] = byte(i % 251)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(total, 10))
	w.WriteHeader(http.StatusOK)
	for off := int64(0); off < total; {
		n := chunk
		if total-off < n {
			n = total - off
		}
		start := off % 251
		b := pattern[start : start+n]
		if fault("download-corrupt") && off == 0 && n > 10 {
			b = append([]byte(nil), b...)
			b[10]++
		}
		if _, err := w.Write(b); err != nil {
			return
		}
		off += n
	}
}

func burnCPU(d time.Duration) {
	deadline := time.Now().Add(d)
	buf := make([]byte, 4096)
	for time.Now().Before(deadline) {
		for i := 0; i < 64; i++ {
			sum := sha256.Sum256(buf)
			copy(buf, sum[:])
		}
	}
}
