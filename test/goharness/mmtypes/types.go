// Package mmtypes holds Go types that are wire-equivalent (for encoding/gob) to the
// Mattermost server types crossing the plugin RPC boundary. gob matches struct fields
// by name and ignores struct names, so these trimmed copies interoperate with the
// real server/plugins; interface values use the names Mattermost registers.
//
// Shared by the conformance harness (plays the Mattermost server) and the Go
// reference plugin. Written for this project from the protocol spec
// (shared/spec/mattermost-plugin-protocol.md); no upstream code is copied.
package mmtypes

import (
	"encoding/gob"
	"encoding/json"
	"io"
	"net/http"
	"net/url"

	goplugin "github.com/hashicorp/go-plugin"
)

// Handshake is the go-plugin handshake Mattermost uses.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "MATTERMOST_PLUGIN",
	MagicCookieValue: "Securely message teams, anywhere.",
}

// PluginID is the id the harness pretends the plugin under test has.
const PluginID = "com.mattermost.mattermost-plugin-metrics"

// SanitizedDataSource is what GetConfig returns for secrets.
const SanitizedDataSource = "********************************"

func init() {
	gob.RegisterName("*model.AppError", &AppError{})
	gob.RegisterName("*plugin.ErrorString", &ErrorString{})
	gob.Register([]interface{}{})
	gob.Register(map[string]interface{}{})
}

// ---------------------------------------------------------------- model types

// AppError mirrors model.AppError (exported fields only).
type AppError struct {
	Id              string
	Message         string
	DetailedError   string
	RequestId       string
	StatusCode      int
	Where           string
	SkipTranslation bool
}

func (e *AppError) Error() string {
	s := e.Where + ": " + e.Message
	if e.DetailedError != "" {
		s += ", " + e.DetailedError
	}
	return s
}

// ErrorString mirrors plugin.ErrorString (the fallback for arbitrary errors).
type ErrorString struct {
	Code int
	Err  string
}

func (e ErrorString) Error() string { return e.Err }

// EncodableError converts any error to one gob can carry across the boundary,
// the way Mattermost's plugin package does.
func EncodableError(err error) error {
	if err == nil {
		return nil
	}
	switch e := err.(type) {
	case *AppError:
		return e
	case *ErrorString:
		return e
	}
	ret := &ErrorString{Err: err.Error()}
	if err == io.EOF {
		ret.Code = 1
	}
	return ret
}

// Context mirrors plugin.Context.
type Context struct {
	SessionId      string
	RequestId      string
	IPAddress      string
	AcceptLanguage string
	UserAgent      string
}

// PluginClusterEvent mirrors model.PluginClusterEvent.
type PluginClusterEvent struct {
	Id   string
	Data []byte
}

// PluginClusterEventSendOptions mirrors model.PluginClusterEventSendOptions.
type PluginClusterEventSendOptions struct {
	SendType string
	TargetId string
}

// PluginKVSetOptions mirrors model.PluginKVSetOptions.
type PluginKVSetOptions struct {
	Atomic          bool
	OldValue        []byte
	ExpireInSeconds int64
}

// FileData mirrors model.FileData.
type FileData struct {
	Filename string
	Body     []byte
}

// WebsocketBroadcast mirrors model.WebsocketBroadcast (subset).
type WebsocketBroadcast struct {
	OmitUsers             map[string]bool
	UserId                string
	ChannelId             string
	TeamId                string
	ConnectionId          string
	OmitConnectionId      string
	ContainsSanitizedData bool
	ContainsSensitiveData bool
	ReliableClusterSend   bool
}

// Features mirrors model.Features (subset).
type Features struct {
	Users          *int
	LDAP           *bool
	Cluster        *bool
	Metrics        *bool
	Compliance     *bool
	Elasticsearch  *bool
	DataRetention  *bool
	FutureFeatures *bool
}

// License mirrors model.License (subset).
type License struct {
	Id           string
	IssuedAt     int64
	StartsAt     int64
	ExpiresAt    int64
	Features     *Features
	SkuName      string
	SkuShortName string
	IsTrial      bool
}

// Post mirrors model.Post (subset; only used to call a hook the plugin lacks).
type Post struct {
	Id        string
	CreateAt  int64
	UserId    string
	ChannelId string
	Message   string
}

// ServiceSettings etc. mirror the model.Config sections (subset). Beyond the fields
// the plugin reads, a few are there only to give a schema-driven decoder the variety
// of a real Config on the wire (named maps, slices of pointers to structs, a pointer
// to a struct, json.RawMessage, int64 pointers).
type ServiceSettings struct {
	SiteURL                 *string
	ListenAddress           *string
	ReadTimeout             *int
	EnableDeveloper         *bool
	TrustedProxyIPHeader    []string
	MaximumPayloadSizeBytes *int64
}

type ReplicaLagSettings struct {
	DataSource       *string
	QueryAbsoluteLag *string
	QueryTimeLag     *string
}

type SqlSettings struct {
	DriverName         *string
	DataSource         *string
	DataSourceReplicas []string
	MaxIdleConns       *int
	Trace              *bool
	AtRestEncryptKey   *string
	ReplicaLagSettings []*ReplicaLagSettings
}

type LogSettings struct {
	EnableConsole       *bool
	ConsoleLevel        *string
	AdvancedLoggingJSON json.RawMessage
}

type FileSettings struct {
	DriverName                         *string
	Directory                          *string
	AmazonS3Bucket                     *string
	AmazonS3Region                     *string
	AmazonS3Endpoint                   *string
	AmazonS3SSL                        *bool
	AmazonS3RequestTimeoutMilliseconds *int64
}

type MetricsSettings struct {
	Enable           *bool
	BlockProfileRate *int
	ListenAddress    *string
}

type ClusterSettings struct {
	Enable      *bool
	ClusterName *string
	GossipPort  *int
}

type PluginState struct {
	Enable bool
}

type PluginSettings struct {
	Enable                  *bool
	Directory               *string
	Plugins                 map[string]map[string]interface{}
	PluginStates            map[string]*PluginState
	SignaturePublicKeyFiles []string
}

type FeatureFlags struct {
	TestFeature     string
	TestBoolFeature bool
}

// Config mirrors model.Config (subset; sections are non-pointer like upstream,
// FeatureFlags is a pointer like upstream).
type Config struct {
	ServiceSettings ServiceSettings
	SqlSettings     SqlSettings
	LogSettings     LogSettings
	FileSettings    FileSettings
	ClusterSettings ClusterSettings
	MetricsSettings MetricsSettings
	PluginSettings  PluginSettings
	FeatureFlags    *FeatureFlags
}

// HTTPRequestSubset mirrors plugin.HTTPRequestSubset.
type HTTPRequestSubset struct {
	Method     string
	URL        *url.URL
	Proto      string
	ProtoMajor int
	ProtoMinor int
	Header     http.Header
	Host       string
	RemoteAddr string
	RequestURI string
	Body       io.ReadCloser
}

// ------------------------------------------------------------------- hooks

type Z_OnActivateArgs struct {
	APIMuxId    uint32
	DriverMuxId uint32
}
type Z_OnActivateReturns struct{ A error }

type Z_OnDeactivateArgs struct{}
type Z_OnDeactivateReturns struct{ A error }

type Z_OnConfigurationChangeArgs struct{}
type Z_OnConfigurationChangeReturns struct{ A error }

type Z_ConfigurationWillBeSavedArgs struct{ A *Config }
type Z_ConfigurationWillBeSavedReturns struct {
	A *Config
	B error
}

type Z_OnPluginClusterEventArgs struct {
	A *Context
	B PluginClusterEvent
}
type Z_OnPluginClusterEventReturns struct{}

type Z_GenerateSupportDataArgs struct{ A *Context }
type Z_GenerateSupportDataReturns struct {
	A []*FileData
	B error
}

type Z_MessageHasBeenPostedArgs struct {
	A *Context
	B *Post
}
type Z_MessageHasBeenPostedReturns struct{}

type Z_ServeHTTPArgs struct {
	ResponseWriterStream uint32
	Request              *HTTPRequestSubset
	Context              *Context
	RequestBodyStream    uint32
}

// Z_ServeMetricsArgs is identical to Z_ServeHTTPArgs.
type Z_ServeMetricsArgs = Z_ServeHTTPArgs

// --------------------------------------------------------------------- API

type Z_LoadPluginConfigurationArgsArgs struct{}
type Z_LoadPluginConfigurationArgsReturns struct{ A []byte }

type Z_GetPluginConfigArgs struct{}
type Z_GetPluginConfigReturns struct{ A map[string]interface{} }

type Z_SavePluginConfigArgs struct{ A map[string]interface{} }
type Z_SavePluginConfigReturns struct{ A *AppError }

type Z_SaveConfigArgs struct{ A *Config }
type Z_SaveConfigReturns struct{ A *AppError }

type Z_GetConfigArgs struct{}
type Z_GetConfigReturns struct{ A *Config }

type Z_GetUnsanitizedConfigArgs struct{}
type Z_GetUnsanitizedConfigReturns struct{ A *Config }

type Z_GetLicenseArgs struct{}
type Z_GetLicenseReturns struct{ A *License }

type Z_IsEnterpriseReadyArgs struct{}
type Z_IsEnterpriseReadyReturns struct{ A bool }

type Z_GetServerVersionArgs struct{}
type Z_GetServerVersionReturns struct{ A string }

type Z_GetDiagnosticIdArgs struct{}
type Z_GetDiagnosticIdReturns struct{ A string }

type Z_GetTelemetryIdArgs struct{}
type Z_GetTelemetryIdReturns struct{ A string }

type Z_GetSystemInstallDateArgs struct{}
type Z_GetSystemInstallDateReturns struct {
	A int64
	B *AppError
}

type Z_GetBundlePathArgs struct{}
type Z_GetBundlePathReturns struct {
	A string
	B error
}

type Z_LogDebugArgs struct {
	A string
	B []interface{}
}
type Z_LogDebugReturns struct{}
type Z_LogInfoArgs struct {
	A string
	B []interface{}
}
type Z_LogInfoReturns struct{}
type Z_LogWarnArgs struct {
	A string
	B []interface{}
}
type Z_LogWarnReturns struct{}
type Z_LogErrorArgs struct {
	A string
	B []interface{}
}
type Z_LogErrorReturns struct{}

type Z_KVSetArgs struct {
	A string
	B []byte
}
type Z_KVSetReturns struct{ A *AppError }

type Z_KVSetWithExpiryArgs struct {
	A string
	B []byte
	C int64
}
type Z_KVSetWithExpiryReturns struct{ A *AppError }

type Z_KVSetWithOptionsArgs struct {
	A string
	B []byte
	C PluginKVSetOptions
}
type Z_KVSetWithOptionsReturns struct {
	A bool
	B *AppError
}

type Z_KVCompareAndSetArgs struct {
	A string
	B []byte
	C []byte
}
type Z_KVCompareAndSetReturns struct {
	A bool
	B *AppError
}

type Z_KVCompareAndDeleteArgs struct {
	A string
	B []byte
}
type Z_KVCompareAndDeleteReturns struct {
	A bool
	B *AppError
}

// Permission mirrors model.Permission.
type Permission struct {
	Id          string
	Name        string
	Description string
	Scope       string
}

type Z_HasPermissionToArgs struct {
	A string
	B *Permission
}
type Z_HasPermissionToReturns struct{ A bool }

type Z_KVGetArgs struct{ A string }
type Z_KVGetReturns struct {
	A []byte
	B *AppError
}

type Z_KVDeleteArgs struct{ A string }
type Z_KVDeleteReturns struct{ A *AppError }

type Z_KVDeleteAllArgs struct{}
type Z_KVDeleteAllReturns struct{ A *AppError }

type Z_KVListArgs struct {
	A int
	B int
}
type Z_KVListReturns struct {
	A []string
	B *AppError
}

type Z_PublishPluginClusterEventArgs struct {
	A PluginClusterEvent
	B PluginClusterEventSendOptions
}
type Z_PublishPluginClusterEventReturns struct{ A error }

type Z_PublishWebSocketEventArgs struct {
	A string
	B map[string]interface{}
	C *WebsocketBroadcast
}
type Z_PublishWebSocketEventReturns struct{}

// ------------------------------------------------------------------ driver

type Z_DbStrErrReturn struct {
	A string
	B error
}
type Z_DbErrReturn struct{ A error }

// ----------------------------------------------------------------- helpers

func StrPtr(s string) *string { return &s }
func BoolPtr(b bool) *bool    { return &b }
func IntPtr(i int) *int       { return &i }
func Int64Ptr(i int64) *int64 { return &i }
