package main

import (
	"os"
	"strings"
)

// Fault injection for the harness self-test: REFPLUGIN_FAULT=name[,name...] makes
// the reference plugin misbehave in one specific way, so that a test can prove the
// matching conformance check really fails. Unset in normal use.
//
//	slow-handshake    sleep 3.5 s before the handshake line
//	linger            keep running when the connection drops (stock Go plugin behaviour)
//	ignore-quit       keep running for 5 s after Control.Quit
//	stdout-noise      write a line to the original stdout during OnActivate
//	implemented-short omit ServeMetrics from Plugin.Implemented
//	no-config-load    skip LoadPluginConfiguration during OnActivate
//	no-driver-dial    never dial the DB driver broker id
//	activate-error    OnActivate returns an error
//	no-body-dial      do not dial the request body stream of GET requests
//	bad-hello         /conformance/hello answers with the wrong Content-Type
//	echo-truncate     /conformance/echo reads only the first MiB
//	download-corrupt  /conformance/download flips one byte
//	api-skip-save     the api script skips SavePluginConfig
var faults = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Split(os.Getenv("REFPLUGIN_FAULT"), ",") {
		if f = strings.TrimSpace(f); f != "" {
			m[f] = true
		}
	}
	return m
}()

func fault(name string) bool { return faults[name] }
