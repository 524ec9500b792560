package server

// tokenOf reports whether s is 1 to max bytes of [A-Za-z0-9._-], plus ':'
// when colon is set: pathIDRE (max 64) and corrRE (max 128, colon)
// without the regexp engine, which cost 5 % of a cached debate read.
func tokenOf(s string, max int, colon bool) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		case c == ':' && colon:
		default:
			return false
		}
	}
	return true
}
