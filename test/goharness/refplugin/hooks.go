package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/rpc"
	"os"
	"sync"
	"syscall"

	goplugin "github.com/hashicorp/go-plugin"

	"mmharness/mmtypes"
)

// hooksServer is registered by go-plugin as net/rpc service "Plugin" on the stream
// the host dials after Dispense. Every exported method is a hook; hooks a plugin
// does not implement are simply absent (the host gets "rpc: can't find method").
type hooksServer struct {
	broker *goplugin.MuxBroker

	mu     sync.Mutex
	api    *apiClient
	driver *rpc.Client
	config map[string]interface{}
}

// implementedHooks is what Plugin.Implemented returns.
var implementedHooks = []string{
	"OnActivate",
	"OnDeactivate",
	"OnConfigurationChange",
	"ConfigurationWillBeSaved",
	"ServeHTTP",
	"ServeMetrics",
	"OnPluginClusterEvent",
	"GenerateSupportData",
}

func (s *hooksServer) Implemented(args struct{}, reply *[]string) error {
	for _, h := range implementedHooks {
		if h == "ServeMetrics" && fault("implemented-short") {
			continue
		}
		*reply = append(*reply, h)
	}
	return nil
}

func (s *hooksServer) OnActivate(args *mmtypes.Z_OnActivateArgs, returns *mmtypes.Z_OnActivateReturns) error {
	apiConn, err := s.broker.Dial(args.APIMuxId)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.api = &apiClient{c: rpc.NewClient(apiConn)}
	s.mu.Unlock()
	if !fault("no-driver-dial") {
		driverConn, err := s.broker.Dial(args.DriverMuxId)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.driver = rpc.NewClient(driverConn)
		s.mu.Unlock()
	}
	if fault("stdout-noise") {
		_, _ = syscall.Write(1, []byte("refplugin: noise on stdout\n"))
	}

	// Like Mattermost's plugin package: the plugin's own OnConfigurationChange runs
	// before its OnActivate.
	if !fault("no-config-load") {
		if err := s.loadConfig(); err != nil {
			fmt.Fprintf(os.Stderr, "[ERROR] call to OnConfigurationChange failed, error: %v\n", err)
		}
	}
	returns.A = mmtypes.EncodableError(s.activate())
	return nil
}

func (s *hooksServer) activate() error {
	if _, err := s.apiOrErr(); err != nil {
		return err
	}
	if fault("activate-error") {
		return fmt.Errorf("refplugin: injected activation failure")
	}
	return nil
}

func (s *hooksServer) apiOrErr() (*apiClient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.api == nil {
		return nil, fmt.Errorf("API not connected")
	}
	return s.api, nil
}

func (s *hooksServer) loadConfig() error {
	api, err := s.apiOrErr()
	if err != nil {
		return err
	}
	raw, err := api.LoadPluginConfiguration()
	if err != nil {
		return err
	}
	cfg := map[string]interface{}{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.config = cfg
	s.mu.Unlock()
	return nil
}

func (s *hooksServer) OnDeactivate(args *mmtypes.Z_OnDeactivateArgs, returns *mmtypes.Z_OnDeactivateReturns) error {
	return nil
}

func (s *hooksServer) OnConfigurationChange(args *mmtypes.Z_OnConfigurationChangeArgs, returns *mmtypes.Z_OnConfigurationChangeReturns) error {
	returns.A = mmtypes.EncodableError(s.loadConfig())
	return nil
}

func (s *hooksServer) ConfigurationWillBeSaved(args *mmtypes.Z_ConfigurationWillBeSavedArgs, returns *mmtypes.Z_ConfigurationWillBeSavedReturns) error {
	// No change, no objection.
	return nil
}

func (s *hooksServer) OnPluginClusterEvent(args *mmtypes.Z_OnPluginClusterEventArgs, returns *mmtypes.Z_OnPluginClusterEventReturns) error {
	return nil
}

func (s *hooksServer) GenerateSupportData(args *mmtypes.Z_GenerateSupportDataArgs, returns *mmtypes.Z_GenerateSupportDataReturns) error {
	s.mu.Lock()
	cfg, _ := json.Marshal(s.config)
	s.mu.Unlock()
	body := fmt.Sprintf("plugin: refplugin\nconfig: %s\n", cfg)
	returns.A = []*mmtypes.FileData{{Filename: "refplugin/diagnostics.yaml", Body: []byte(body)}}
	return nil
}

func (s *hooksServer) ServeHTTP(args *mmtypes.Z_ServeHTTPArgs, returns *struct{}) error {
	return s.serveHTTP(args, s.route)
}

func (s *hooksServer) ServeMetrics(args *mmtypes.Z_ServeHTTPArgs, returns *struct{}) error {
	return s.serveHTTP(args, func(c *mmtypes.Context, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP refplugin_up Always 1.\n# TYPE refplugin_up gauge\nrefplugin_up 1\n")
	})
}
