package advisory

import "testing"

func TestCVSS3BaseScore(t *testing.T) {
	tests := []struct {
		vector string
		ok     bool
		score  float64
		rating Severity
	}{
		// Scores as the CVSS v3.1 calculator gives them.
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", true, 9.8, SeverityCritical},
		{"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", true, 9.8, SeverityCritical},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", true, 10.0, SeverityCritical},
		{"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", true, 9.9, SeverityCritical},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", true, 6.1, SeverityModerate},
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:N/A:N", true, 6.8, SeverityModerate},
		{"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", true, 6.4, SeverityModerate},
		{"CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", true, 7.8, SeverityHigh},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", true, 7.5, SeverityHigh},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", true, 5.3, SeverityModerate},
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L", true, 5.6, SeverityModerate},
		{"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", true, 1.6, SeverityLow},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", true, 0, SeverityLow},
		// Metric order is free; temporal and environmental metrics leave the base score.
		{"CVSS:3.1/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N", true, 9.8, SeverityCritical},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C/CR:H/MAV:L", true, 9.8, SeverityCritical},
		// Not v3 vectors.
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", false, 0, 0},
		{"AV:N/AC:L/Au:N/C:P/I:P/A:P", false, 0, 0},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", false, 0, 0},
		{"CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", false, 0, 0},
		{"CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", false, 0, 0},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/XX:Y", false, 0, 0},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:HH", false, 0, 0},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/", false, 0, 0},
		{"cvss:3.1/av:n/ac:l/pr:n/ui:n/s:u/c:h/i:h/a:h", false, 0, 0},
		{"CVSS:3.1/", false, 0, 0},
		{"", false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.vector, func(t *testing.T) {
			score, ok := cvss3BaseScore(tt.vector)
			if ok != tt.ok || score != tt.score {
				t.Fatalf("cvss3BaseScore(%q) = %v, %v, want %v, %v", tt.vector, score, ok, tt.score, tt.ok)
			}
			if ok {
				if got := ratingOf(score); got != tt.rating {
					t.Errorf("ratingOf(%v) = %d, want %d", score, got, tt.rating)
				}
			}
		})
	}
}

func TestRoundUp(t *testing.T) {
	tests := []struct{ in, want float64 }{
		{4.0, 4.0},
		{4.000000000001, 4.0}, // floating-point noise does not push up a tenth
		{4.00001, 4.1},
		{4.02, 4.1},
		{4.1, 4.1},
		{0, 0},
		{9.95, 10.0},
		{10, 10},
	}
	for _, tt := range tests {
		if got := roundUp(tt.in); got != tt.want {
			t.Errorf("roundUp(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestRatingOf(t *testing.T) {
	tests := []struct {
		score float64
		want  Severity
	}{
		{0, SeverityLow}, {0.1, SeverityLow}, {3.9, SeverityLow},
		{4.0, SeverityModerate}, {6.9, SeverityModerate},
		{7.0, SeverityHigh}, {8.9, SeverityHigh},
		{9.0, SeverityCritical}, {10.0, SeverityCritical},
	}
	for _, tt := range tests {
		if got := ratingOf(tt.score); got != tt.want {
			t.Errorf("ratingOf(%v) = %d, want %d", tt.score, got, tt.want)
		}
	}
}
