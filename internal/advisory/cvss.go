package advisory

import (
	"math"
	"strings"
)

// This file computes a CVSS v3 base score from its vector, as the CVSS v3.1
// specification (section 7 and appendix A) defines it. Version 3.0 vectors are scored
// with the same formula: the two versions differ in the environmental score and in
// how the rounding is written down, not in the base metrics' weights.

// cvss3Metrics lists the metrics a v3 vector may carry and the values each allows,
// the eight base metrics first, in the order the score below reads them. The base
// metrics must all be present; the temporal and environmental ones are checked and
// then ignored, as a base score does not use them.
var cvss3Metrics = [...]struct{ key, values string }{
	// Base.
	{"AV", "NALP"}, {"AC", "LH"}, {"PR", "NLH"}, {"UI", "NR"}, {"S", "UC"}, {"C", "HLN"}, {"I", "HLN"}, {"A", "HLN"},
	// Temporal.
	{"E", "XUPFH"}, {"RL", "XOTWU"}, {"RC", "XURC"},
	// Environmental.
	{"CR", "XLMH"}, {"IR", "XLMH"}, {"AR", "XLMH"},
	{"MAV", "XNALP"}, {"MAC", "XLH"}, {"MPR", "XNLH"}, {"MUI", "XNR"}, {"MS", "XUC"},
	{"MC", "XNLH"}, {"MI", "XNLH"}, {"MA", "XNLH"},
}

// cvss3BaseScore computes the base score of a CVSS v3.0 or v3.1 vector
// ("CVSS:3.1/AV:N/AC:L/..."). ok is false for a vector that is not one: another
// version, an unknown or repeated metric, a value a metric does not allow, or a base
// metric missing.
func cvss3BaseScore(vector string) (score float64, ok bool) {
	rest, found := strings.CutPrefix(vector, "CVSS:3.1/")
	if !found {
		if rest, found = strings.CutPrefix(vector, "CVSS:3.0/"); !found {
			return 0, false
		}
	}
	var given [len(cvss3Metrics)]byte // by metric index: the base metrics are the first 8
	var seen uint32                   // bit i: metric i was given
	for more := true; more; {
		var part string
		part, rest, more = strings.Cut(rest, "/")
		k, val, _ := strings.Cut(part, ":")
		i := 0
		for i < len(cvss3Metrics) && cvss3Metrics[i].key != k {
			i++
		}
		if i == len(cvss3Metrics) || seen&(1<<i) != 0 || len(val) != 1 || !strings.Contains(cvss3Metrics[i].values, val) {
			return 0, false
		}
		seen |= 1 << i
		given[i] = val[0]
	}
	if seen&0xff != 0xff {
		return 0, false
	}
	base := given[:8] // AV AC PR UI S C I A

	changed := base[4] == 'C'
	av := weight(base[0], "NALP", 0.85, 0.62, 0.55, 0.2)
	ac := weight(base[1], "LH", 0.77, 0.44)
	pr := weight(base[2], "NLH", 0.85, 0.62, 0.27)
	if changed {
		pr = weight(base[2], "NLH", 0.85, 0.68, 0.5)
	}
	ui := weight(base[3], "NR", 0.85, 0.62)
	c := weight(base[5], "HLN", 0.56, 0.22, 0)
	in := weight(base[6], "HLN", 0.56, 0.22, 0)
	a := weight(base[7], "HLN", 0.56, 0.22, 0)

	iss := 1 - (1-c)*(1-in)*(1-a)
	var impact float64
	if changed {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	} else {
		impact = 6.42 * iss
	}
	exploitability := 8.22 * av * ac * pr * ui
	if impact <= 0 {
		return 0, true
	}
	if changed {
		return roundUp(math.Min(1.08*(impact+exploitability), 10)), true
	}
	return roundUp(math.Min(impact+exploitability, 10)), true
}

// weight returns the weight of value v, given the values a metric allows and their
// weights in the same order. The vector was checked, so v is always one of them.
func weight(v byte, values string, weights ...float64) float64 {
	return weights[strings.IndexByte(values, v)]
}

// roundUp is the specification's Roundup: the smallest number with one decimal place
// that is at least x, computed on integers so that floating-point noise (4.000000001)
// does not push a score up a tenth.
func roundUp(x float64) float64 {
	i := int64(math.Round(x * 100000))
	if i%10000 == 0 {
		return float64(i) / 100000
	}
	return float64(i/10000+1) / 10
}

// ratingOf maps a CVSS v3 score to a severity level with the specification's
// qualitative scale: 0.1-3.9 low, 4.0-6.9 moderate (CVSS's "medium"), 7.0-8.9 high,
// 9.0-10.0 critical. A score of 0.0 (CVSS's "none") is read as low: the record did
// state a severity, and the lowest one.
func ratingOf(score float64) Severity {
	switch {
	case score >= 9:
		return SeverityCritical
	case score >= 7:
		return SeverityHigh
	case score >= 4:
		return SeverityModerate
	}
	return SeverityLow
}
