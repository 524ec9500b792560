package ratelimit_test

import (
	"net/netip"
	"testing"

	"github.com/aragora/aragora/internal/enum/enumtest"
	"github.com/aragora/aragora/ratelimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		want    ratelimit.Config
		wantErr string // the exact message
	}{
		{name: "empty means defaults", env: nil, want: ratelimit.Config{}},
		{
			name: "every variable",
			env: map[string]string{
				"ARAGORA_RATE_LIMIT_RPM": "300", "ARAGORA_RATE_LIMIT_DEBATE_RPM": "20", "ARAGORA_RATE_LIMIT_AUTH_RPM": "5",
				"ARAGORA_RATE_LIMIT_WHITELIST": "10.0.0.0/8, 192.168.0.0/16,2001:db8::/32,203.0.113.9",
				"ARAGORA_RATE_LIMIT_DISABLED":  "off", "ARAGORA_RATE_LIMIT_EMERGENCY": "YES", "ARAGORA_RATE_LIMIT_FAIL_OPEN": "True",
				"ARAGORA_TRUSTED_PROXIES": "10.1.2.3/8",
			},
			want: ratelimit.Config{
				RPM: 300, DebateRPM: 20, AuthRPM: 5,
				Whitelist: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.0.0/16"),
					netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("203.0.113.9/32")},
				TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
				Emergency:      true, FailOpen: true,
			},
		},
		{name: "booleans 1 and on", env: map[string]string{"ARAGORA_RATE_LIMIT_DISABLED": "1", "ARAGORA_RATE_LIMIT_EMERGENCY": "on"},
			want: ratelimit.Config{Disabled: true, Emergency: true}},
		{name: "negative RPM", env: map[string]string{"ARAGORA_RATE_LIMIT_RPM": "-1"},
			wantErr: `config: ARAGORA_RATE_LIMIT_RPM="-1": want an integer >= 1`},
		{name: "zero debate RPM", env: map[string]string{"ARAGORA_RATE_LIMIT_DEBATE_RPM": "0"},
			wantErr: `config: ARAGORA_RATE_LIMIT_DEBATE_RPM="0": want an integer >= 1`},
		{name: "non-numeric auth RPM", env: map[string]string{"ARAGORA_RATE_LIMIT_AUTH_RPM": "ten"},
			wantErr: `config: ARAGORA_RATE_LIMIT_AUTH_RPM="ten": want an integer >= 1`},
		{name: "bad CIDR", env: map[string]string{"ARAGORA_RATE_LIMIT_WHITELIST": "10.0.0.0/8,10.0.0.0/33"},
			wantErr: `config: ARAGORA_RATE_LIMIT_WHITELIST="10.0.0.0/8,10.0.0.0/33": want comma-separated CIDRs (bad entry "10.0.0.0/33")`},
		{name: "bad proxy", env: map[string]string{"ARAGORA_TRUSTED_PROXIES": "localhost"},
			wantErr: `config: ARAGORA_TRUSTED_PROXIES="localhost": want comma-separated CIDRs (bad entry "localhost")`},
		{name: "bad boolean", env: map[string]string{"ARAGORA_RATE_LIMIT_FAIL_OPEN": "maybe"},
			wantErr: `config: ARAGORA_RATE_LIMIT_FAIL_OPEN="maybe": want a boolean (1/0, true/false, yes/no, on/off)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ratelimit.ParseConfig(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ratelimit.ErrInvalidConfig)
				var ce *ratelimit.ConfigError
				require.ErrorAs(t, err, &ce)
				assert.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseConfigJoinsErrors(t *testing.T) {
	t.Parallel()
	env := map[string]string{"ARAGORA_RATE_LIMIT_RPM": "-1", "ARAGORA_TRUSTED_PROXIES": "x"}
	_, err := ratelimit.ParseConfig(func(k string) string { return env[k] })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ARAGORA_RATE_LIMIT_RPM")
	assert.Contains(t, err.Error(), "ARAGORA_TRUSTED_PROXIES")
}

func TestEffectiveRPM(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  ratelimit.Config
		want [3]int // general, debate_create, auth
	}{
		{name: "defaults", want: [3]int{120, 10, 10}},
		{name: "emergency divides by 10 rounding up", cfg: ratelimit.Config{Emergency: true}, want: [3]int{12, 1, 1}},
		{name: "emergency rounds up", cfg: ratelimit.Config{Emergency: true, RPM: 125, DebateRPM: 11, AuthRPM: 3}, want: [3]int{13, 2, 1}},
		{name: "custom", cfg: ratelimit.Config{RPM: 7, DebateRPM: 20, AuthRPM: 1}, want: [3]int{7, 20, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for i, c := range ratelimit.Classes {
				assert.Equal(t, tt.want[i], tt.cfg.EffectiveRPM(c), string(c))
			}
			assert.Equal(t, 0, tt.cfg.EffectiveRPM(ratelimit.ClassExempt))
		})
	}
}

func TestNewPolicyRejectsBadConfig(t *testing.T) {
	t.Parallel()
	_, err := ratelimit.NewPolicy(nil, ratelimit.Config{RPM: -5})
	require.ErrorIs(t, err, ratelimit.ErrInvalidConfig)
	_, err = ratelimit.NewPolicy(nil, ratelimit.Config{Whitelist: []netip.Prefix{{}}})
	require.ErrorIs(t, err, ratelimit.ErrInvalidConfig)
}

func TestClassText(t *testing.T) {
	t.Parallel()
	enumtest.Check(t, ratelimit.Classes, ratelimit.ParseClass, "exempt")
	var c ratelimit.Class = ratelimit.ClassAuth
	require.NoError(t, c.UnmarshalText(nil))
	assert.Equal(t, ratelimit.ClassExempt, c, "empty text is ClassExempt")
}
