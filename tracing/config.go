package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// ErrConfig reports an invalid OTEL_* setting; the error names the
// variable.
var ErrConfig = errors.New("tracing: invalid configuration")

// Protocols of the OTLP exporter.
const (
	ProtocolHTTP = "http/protobuf"
	ProtocolGRPC = "grpc"
)

// Config configures the OTLP trace exporter of [NewProvider]. The zero
// value is tracing off. Each field names the variable [FromEnv] reads it
// from (docs/configuration.md).
type Config struct {
	// Disabled (OTEL_SDK_DISABLED=true) turns tracing off whatever the
	// other fields say.
	Disabled bool
	// Endpoint (OTEL_EXPORTER_OTLP_ENDPOINT) is the OTLP base URL, e.g.
	// http://localhost:4318; over http/protobuf spans go to
	// Endpoint + "/v1/traces".
	Endpoint string
	// TracesEndpoint (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is the full
	// traces URL, used as is; it wins over Endpoint.
	TracesEndpoint string
	// Protocol (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else
	// OTEL_EXPORTER_OTLP_PROTOCOL) is http/protobuf (default) or grpc.
	Protocol string
	// ServiceName (OTEL_SERVICE_NAME) is the service.name resource
	// attribute; default "aragora".
	ServiceName string
	// Sampler (OTEL_TRACES_SAMPLER) is always_on, always_off,
	// traceidratio, parentbased_always_on (default),
	// parentbased_always_off or parentbased_traceidratio; SamplerArg
	// (OTEL_TRACES_SAMPLER_ARG) is the ratio of the ratio samplers
	// (default 1).
	Sampler    string
	SamplerArg string
	// ServiceVersion is the service.version resource attribute.
	ServiceVersion string
}

// Enabled reports whether c exports traces: an endpoint is set and the SDK
// is not disabled.
func (c Config) Enabled() bool {
	return !c.Disabled && (c.Endpoint != "" || c.TracesEndpoint != "")
}

// FromEnv reads c from the OTEL_* variables through getenv (os.Getenv in
// the binary). An empty value means unset. Invalid values are errors
// wrapping ErrConfig that name the variable.
func FromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	c := Config{
		Endpoint:       get("OTEL_EXPORTER_OTLP_ENDPOINT"),
		TracesEndpoint: get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
		Protocol:       get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
		ServiceName:    get("OTEL_SERVICE_NAME"),
		Sampler:        get("OTEL_TRACES_SAMPLER"),
		SamplerArg:     get("OTEL_TRACES_SAMPLER_ARG"),
	}
	if c.Protocol == "" {
		c.Protocol = get("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch v := strings.ToLower(get("OTEL_SDK_DISABLED")); v {
	case "", "false":
	case "true":
		c.Disabled = true
	default:
		return c, fmt.Errorf("%w: OTEL_SDK_DISABLED=%q: want true or false", ErrConfig, v)
	}
	return c, c.Validate()
}

// Validate reports an invalid protocol, endpoint or sampler as an error
// wrapping ErrConfig.
func (c Config) Validate() error {
	switch c.Protocol {
	case "", ProtocolHTTP, ProtocolGRPC:
	default:
		return fmt.Errorf("%w: OTEL_EXPORTER_OTLP_PROTOCOL=%q: want http/protobuf or grpc", ErrConfig, c.Protocol)
	}
	for name, v := range map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": c.Endpoint, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": c.TracesEndpoint} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: %s=%q: want an http:// or https:// URL", ErrConfig, name, v)
		}
	}
	_, err := c.sampler()
	return err
}

func (c Config) sampler() (sdktrace.Sampler, error) {
	ratio := 1.0
	if c.SamplerArg != "" {
		r, err := strconv.ParseFloat(c.SamplerArg, 64)
		if err != nil || r < 0 || r > 1 {
			return nil, fmt.Errorf("%w: OTEL_TRACES_SAMPLER_ARG=%q: want a ratio in [0, 1]", ErrConfig, c.SamplerArg)
		}
		ratio = r
	}
	switch c.Sampler {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	}
	return nil, fmt.Errorf("%w: OTEL_TRACES_SAMPLER=%q: want always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio", ErrConfig, c.Sampler)
}

// NewProvider returns an SDK TracerProvider exporting c's spans in batches
// with the OTLP exporter of c.Protocol, or nil when c is not Enabled. The
// exporter also honours the OTEL_EXPORTER_OTLP_* variables it reads itself
// (headers, timeout, certificates). The caller shuts it down, which flushes
// the spans not yet exported.
func NewProvider(ctx context.Context, c Config) (*sdktrace.TracerProvider, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if !c.Enabled() {
		return nil, nil
	}
	sampler, _ := c.sampler()
	var exp sdktrace.SpanExporter
	var err error
	switch c.Protocol {
	case ProtocolGRPC:
		u := c.TracesEndpoint
		if u == "" {
			u = c.Endpoint
		}
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(u))
	default:
		u := c.TracesEndpoint
		if u == "" {
			u = strings.TrimSuffix(c.Endpoint, "/") + "/v1/traces"
		}
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(u))
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	name := c.ServiceName
	if name == "" {
		name = "aragora"
	}
	attrs := []attribute.KeyValue{semconv.ServiceName(name)}
	if c.ServiceVersion != "" {
		attrs = append(attrs, semconv.ServiceVersion(c.ServiceVersion))
	}
	res, err := resource.New(ctx, resource.WithAttributes(attrs...), resource.WithTelemetrySDK(), resource.WithSchemaURL(semconv.SchemaURL))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithResource(res),
		sdktrace.WithBatcher(exp)), nil
}
