// Command refplugin is a Go reference plugin for the conformance harness: a plain
// hashicorp/go-plugin netrpc plugin that behaves like a Go Mattermost plugin built
// with Mattermost's plugin package (hooks served as net/rpc service "Plugin", API
// and DB driver reached by dialing broker ids, ServeHTTP through the response
// writer RPC stream and the varint "remote reader" body stream).
//
// It implements the hooks and /conformance/* routes the harness expects, proves the
// harness correct, and is the Go anchor for benchmarks.
//
// One deliberate deviation from a stock Go plugin: it exits when its yamux session
// ends without Control.Quit (stock Go plugins linger until killed); the project's
// plugin is required to do so, and the harness checks it (`conn-drop`).
package main

import (
	"errors"
	"net/rpc"
	"os"
	"reflect"
	"time"
	"unsafe"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/hashicorp/yamux"

	"mmharness/mmtypes"
)

type hooksPlugin struct{}

// Server is called by go-plugin on Dispenser.Dispense("hooks").
func (hooksPlugin) Server(b *goplugin.MuxBroker) (interface{}, error) {
	watchSession(b)
	return &hooksServer{broker: b}, nil
}

// Client is never used in the plugin process.
func (hooksPlugin) Client(*goplugin.MuxBroker, *rpc.Client) (interface{}, error) {
	return nil, errors.New("refplugin: Client is host-side only")
}

var watching = false

// watchSession exits the process when the yamux session closes (connection dropped
// by the host without Control.Quit). go-plugin 1.0.1 does not expose the session, so
// it is read from the broker's unexported field.
func watchSession(b *goplugin.MuxBroker) {
	if watching || fault("linger") || fault("ignore-quit") {
		return
	}
	f := reflect.ValueOf(b).Elem().FieldByName("session")
	if !f.IsValid() || f.Type() != reflect.TypeOf((*yamux.Session)(nil)) {
		return
	}
	sess := *(**yamux.Session)(unsafe.Pointer(f.UnsafeAddr()))
	if sess == nil {
		return
	}
	watching = true
	go func() {
		<-sess.CloseChan()
		// Give a concurrent Control.Quit path the chance to finish normally.
		time.Sleep(20 * time.Millisecond)
		os.Exit(0)
	}()
}

func main() {
	if fault("slow-handshake") {
		time.Sleep(3500 * time.Millisecond)
	}
	defer func() {
		if fault("ignore-quit") {
			time.Sleep(5 * time.Second)
		}
	}()
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: mmtypes.Handshake,
		Plugins:         map[string]goplugin.Plugin{"hooks": hooksPlugin{}},
	})
}
