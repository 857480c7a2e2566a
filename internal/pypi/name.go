package pypi

// maxNameLen bounds a project name (PEP 508 sets no bound; real names are short).
const maxNameLen = 200

// isNameSep reports a byte that PEP 503 folds into "-".
func isNameSep(c byte) bool { return c == '-' || c == '_' || c == '.' }

func isASCIIDigit(c byte) bool { return '0' <= c && c <= '9' }

func isASCIIAlnum(c byte) bool {
	return isASCIIDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Normalize returns name in PEP 503's normal form: lower case, every run of '-', '_'
// and '.' replaced by one '-'. Only ASCII letters are folded, so a name spelled with
// look-alike non-ASCII letters never normalises to an ASCII one.
func Normalize(name string) string {
	if isNormalized(name) {
		return name
	}
	b := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		if isNameSep(c) {
			if i == 0 || !isNameSep(name[i-1]) {
				b = append(b, '-')
			}
			continue
		}
		b = append(b, lowerASCII(c))
	}
	return string(b)
}

// isNormalized reports whether Normalize would return name unchanged.
func isNormalized(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z', c == '_', c == '.':
			return false
		case c == '-' && i > 0 && name[i-1] == '-':
			return false
		}
	}
	return true
}

// sameProject reports whether Normalize(name) == normalized, without allocating.
func sameProject(name, normalized string) bool {
	j := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		if isNameSep(c) {
			if i > 0 && isNameSep(name[i-1]) {
				continue
			}
			c = '-'
		} else {
			c = lowerASCII(c)
		}
		if j >= len(normalized) || normalized[j] != c {
			return false
		}
		j++
	}
	return j == len(normalized)
}

// ValidName reports whether name is a valid PEP 508 project name: 1 to 200 ASCII
// letters and digits, with '.', '_' and '-' allowed between them but not at either
// end.
func ValidName(name string) bool {
	if name == "" || len(name) > maxNameLen {
		return false
	}
	if !isASCIIAlnum(name[0]) || !isASCIIAlnum(name[len(name)-1]) {
		return false
	}
	for i := 1; i < len(name)-1; i++ {
		if c := name[i]; !isASCIIAlnum(c) && !isNameSep(c) {
			return false
		}
	}
	return true
}
