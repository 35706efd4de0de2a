package main

import (
	"time"

	"github.com/aquasecurity/trivy-db/pkg/types"
)

// record is one advisory for one package, as a GHSA entry (advisory + detail) and an NVD
// entry (detail only) would put it. Texts are short hand-written summaries, not upstream copies.
type record struct {
	ecosystem string // "npm" or "maven": which GHSA data source and bucket
	pkgName   string // as Trivy looks it up (lower case; maven is groupId:artifactId)
	vulnID    string
	ghsaID    string // stored as the advisory's VendorIDs, like the GHSA source does
	severity  types.Severity
	title     string
	desc      string
	// Version strings in the form trivy-db's OSV/GHSA parser produces: ranges like
	// ">=2.0-beta9, <2.15.0" ("introduced 0" is dropped) and bare fixed versions.
	vulnerable []string
	patched    []string
	cvssV3     string
	cvssV3Sc   float64
	cweIDs     []string
	refs       []string
	published  time.Time
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// records is written in this order; the order is part of what keeps the output deterministic.
var records = []record{
	{
		ecosystem:  "npm",
		pkgName:    "lodash",
		vulnID:     "CVE-2021-23337",
		ghsaID:     "GHSA-35jh-r3h4-6jhm",
		severity:   types.SeverityHigh,
		title:      "Command Injection in lodash",
		desc:       "lodash versions before 4.17.21 are vulnerable to command injection through the template function.",
		vulnerable: []string{"<4.17.21"},
		patched:    []string{"4.17.21"},
		cvssV3:     "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H",
		cvssV3Sc:   7.2,
		cweIDs:     []string{"CWE-94"},
		refs: []string{
			"https://github.com/advisories/GHSA-35jh-r3h4-6jhm",
			"https://nvd.nist.gov/vuln/detail/CVE-2021-23337",
		},
		published: date("2021-02-15T13:15:12Z"),
	},
	{
		ecosystem:  "npm",
		pkgName:    "lodash",
		vulnID:     "CVE-2020-28500",
		ghsaID:     "GHSA-29mw-wpgm-hmr9",
		severity:   types.SeverityMedium,
		title:      "Regular Expression Denial of Service (ReDoS) in lodash",
		desc:       "lodash versions before 4.17.21 are vulnerable to regular expression denial of service through the toNumber, trim and trimEnd functions.",
		vulnerable: []string{"<4.17.21"},
		patched:    []string{"4.17.21"},
		cvssV3:     "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L",
		cvssV3Sc:   5.3,
		cweIDs:     []string{"CWE-400"},
		refs: []string{
			"https://github.com/advisories/GHSA-29mw-wpgm-hmr9",
			"https://nvd.nist.gov/vuln/detail/CVE-2020-28500",
		},
		published: date("2021-02-15T11:15:12Z"),
	},
	{
		ecosystem:  "npm",
		pkgName:    "minimist",
		vulnID:     "CVE-2021-44906",
		ghsaID:     "GHSA-xvch-5gv4-984h",
		severity:   types.SeverityCritical,
		title:      "Prototype Pollution in minimist",
		desc:       "minimist versions before 1.2.6 are vulnerable to prototype pollution through the setKey function.",
		vulnerable: []string{"<1.2.6"},
		patched:    []string{"1.2.6"},
		cvssV3:     "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		cvssV3Sc:   9.8,
		cweIDs:     []string{"CWE-1321"},
		refs: []string{
			"https://github.com/advisories/GHSA-xvch-5gv4-984h",
			"https://nvd.nist.gov/vuln/detail/CVE-2021-44906",
		},
		published: date("2022-03-17T16:15:07Z"),
	},
	{
		ecosystem:  "maven",
		pkgName:    "org.apache.logging.log4j:log4j-core",
		vulnID:     "CVE-2021-44228",
		ghsaID:     "GHSA-jfh8-c2jp-5v3q",
		severity:   types.SeverityCritical,
		title:      "Remote code injection in Log4j",
		desc:       "JNDI lookups in Apache Log4j2 from 2.0-beta9 before 2.15.0 let an attacker who controls logged data load and run code from a remote server (Log4Shell).",
		vulnerable: []string{">=2.0-beta9, <2.15.0"},
		patched:    []string{"2.15.0"},
		cvssV3:     "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
		cvssV3Sc:   10.0,
		cweIDs:     []string{"CWE-502", "CWE-917"},
		refs: []string{
			"https://github.com/advisories/GHSA-jfh8-c2jp-5v3q",
			"https://logging.apache.org/log4j/2.x/security.html",
			"https://nvd.nist.gov/vuln/detail/CVE-2021-44228",
		},
		published: date("2021-12-10T10:15:09Z"),
	},
}
