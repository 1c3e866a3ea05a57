package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/rpc"
	"net/url"
	"sync"
	"time"

	"mmharness/mmtypes"
)

// recorder is the server-side http.ResponseWriter a ServeHTTP call writes into.
type recorder struct {
	mu          sync.Mutex
	header      http.Header
	status      int
	wroteHeader bool
	keepBody    bool
	body        bytes.Buffer
	n           int64
	writes      int
	check       func(off int64, b []byte) error // optional streaming verifier
	checkErr    error
}

func newRecorder(keepBody bool) *recorder {
	return &recorder{header: http.Header{}, keepBody: keepBody}
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.wroteHeader {
		return
	}
	r.wroteHeader = true
	r.status = code
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	if r.check != nil && r.checkErr == nil {
		r.checkErr = r.check(r.n, b)
	}
	if r.keepBody {
		r.body.Write(b)
	}
	r.n += int64(len(b))
	r.writes++
	return len(b), nil
}

// rwServer mirrors Mattermost's httpResponseWriterRPCServer (service "Plugin" on
// the response-writer stream the plugin dials).
type rwServer struct {
	rec *recorder
}

func (w *rwServer) Header(args struct{}, reply *http.Header) error {
	w.rec.mu.Lock()
	defer w.rec.mu.Unlock()
	h := http.Header{}
	for k, v := range w.rec.header {
		h[k] = append([]string(nil), v...)
	}
	*reply = h
	return nil
}

func (w *rwServer) Write(args []byte, reply *struct{}) error {
	w.rec.mu.Lock()
	defer w.rec.mu.Unlock()
	_, err := w.rec.Write(args)
	return err
}

func (w *rwServer) WriteHeader(args int, reply *struct{}) error {
	if args < 100 || args > 999 {
		return errors.New("invalid http status code")
	}
	w.rec.mu.Lock()
	defer w.rec.mu.Unlock()
	w.rec.WriteHeader(args)
	return nil
}

// SyncHeader replaces the response header map (keys absent from args are deleted).
func (w *rwServer) SyncHeader(args http.Header, reply *struct{}) error {
	w.rec.mu.Lock()
	defer w.rec.mu.Unlock()
	dest := w.rec.header
	for k := range dest {
		if _, ok := args[k]; !ok {
			delete(dest, k)
		}
	}
	for k, v := range args {
		dest[k] = v
	}
	return nil
}

// serveIOReader is the host side of the request-body "remote reader": read a varint
// N from the plugin, copy up to N body bytes, close the stream at the end of the body.
func serveIOReader(r io.Reader, conn io.ReadWriteCloser) {
	defer conn.Close()
	buf := make([]byte, 32*1024)
	br := &oneByteReader{r: conn}
	for {
		n, err := binary.ReadVarint(br)
		if err != nil {
			return
		}
		written, err := io.CopyBuffer(conn, io.LimitReader(r, n), buf)
		if err != nil || written < n {
			return
		}
	}
}

type oneByteReader struct{ r io.Reader }

func (b *oneByteReader) ReadByte() (byte, error) {
	var x [1]byte
	_, err := io.ReadFull(b.r, x[:])
	return x[0], err
}

// httpResult is what a ServeHTTP round trip produced.
type httpResult struct {
	Status     int
	Header     http.Header
	Body       []byte
	N          int64
	Writes     int
	CheckErr   error
	RPCErr     error
	Elapsed    time.Duration
	rwAccept   chan error
	bodyAccept chan error
}

// bodyDialed waits up to d for the outcome of the body-stream accept.
func (r *httpResult) bodyDialed(d time.Duration) error {
	if r.bodyAccept == nil {
		return nil
	}
	select {
	case err := <-r.bodyAccept:
		r.bodyAccept <- err
		return err
	case <-time.After(d):
		return fmt.Errorf("still waiting after %v", d)
	}
}

type httpReq struct {
	Method   string
	Target   string // path and query after /plugins/<id>
	Header   http.Header
	Body     io.Reader // nil = empty body (a body stream is still offered, like the server)
	Context  *mmtypes.Context
	KeepBody bool
	Check    func(off int64, b []byte) error
	Hook     string // "ServeHTTP" (default) or "ServeMetrics"
}

// serveHTTP performs one request the way Mattermost's hooksRPCClient.ServeHTTP does:
// reserve the response-writer id and the request-body id, accept+serve both, call
// Plugin.ServeHTTP with Z_ServeHTTPArgs and a nil reply.
func (h *hooksClient) serveHTTP(req httpReq) *httpResult {
	t0 := time.Now()
	rec := newRecorder(req.KeepBody)
	rec.check = req.Check
	res := &httpResult{rwAccept: make(chan error, 1), bodyAccept: make(chan error, 1)}

	rwID := h.broker.NextId()
	rwServed := make(chan struct{})
	go func() {
		defer close(rwServed)
		conn, err := h.broker.Accept(rwID)
		res.rwAccept <- err
		if err != nil {
			return
		}
		defer conn.Close()
		srv := rpc.NewServer()
		_ = srv.RegisterName("Plugin", &rwServer{rec: rec})
		srv.ServeConn(conn)
	}()

	body := req.Body
	if body == nil {
		body = http.NoBody
	}
	bodyID := h.broker.NextId()
	go func() {
		conn, err := h.broker.Accept(bodyID)
		res.bodyAccept <- err
		if err != nil {
			return
		}
		serveIOReader(body, conn)
	}()

	u, err := url.Parse(req.Target)
	if err != nil {
		res.RPCErr = err
		return res
	}
	header := req.Header
	if header == nil {
		header = http.Header{}
	}
	ctx := req.Context
	if ctx == nil {
		ctx = &mmtypes.Context{RequestId: "req-conformance"}
	}
	hook := req.Hook
	if hook == "" {
		hook = "ServeHTTP"
	}
	args := mmtypes.Z_ServeHTTPArgs{
		ResponseWriterStream: rwID,
		Request: &mmtypes.HTTPRequestSubset{
			Method:     req.Method,
			URL:        u,
			Proto:      "HTTP/1.1",
			ProtoMajor: 1,
			ProtoMinor: 1,
			Header:     header,
			Host:       "localhost:8065",
			RemoteAddr: "127.0.0.1:50000",
			RequestURI: "/plugins/" + mmtypes.PluginID + req.Target,
		},
		Context:           ctx,
		RequestBodyStream: bodyID,
	}
	res.RPCErr = h.c.Call("Plugin."+hook, args, nil)
	res.Elapsed = time.Since(t0)

	rec.mu.Lock()
	res.Status = rec.status
	if !rec.wroteHeader {
		res.Status = http.StatusOK // what net/http sends when a handler writes nothing
	}
	res.Header = rec.header.Clone()
	res.Body = append([]byte(nil), rec.body.Bytes()...)
	res.N = rec.n
	res.Writes = rec.writes
	res.CheckErr = rec.checkErr
	rec.mu.Unlock()
	return res
}
