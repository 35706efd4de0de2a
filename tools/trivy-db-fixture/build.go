package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/bucket"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
	bolt "go.etcd.io/bbolt"
)

// compactTxMaxSize is the default of `bbolt compact`, which upstream's Makefile runs on trivy.db.
const compactTxMaxSize = 65536

// ghsaDataSource is the data source trivy-db's GHSA source (pkg/vulnsrc/ghsa) stores for an
// ecosystem; GHSA spells the ecosystems "npm" and "Maven".
func ghsaDataSource(ghsaEcosystem string) types.DataSource {
	return types.DataSource{
		ID:   vulnerability.GHSA,
		Name: "GitHub Security Advisory " + ghsaEcosystem,
		URL:  "https://github.com/advisories?query=type%3Areviewed+ecosystem%3A" + strings.ToLower(ghsaEcosystem),
	}
}

// ghsaBucket returns e.g. "npm::GitHub Security Advisory npm", named by trivy-db's own bucket package.
func ghsaBucket(eco string) (bucket.DataSourceBucket, error) {
	switch eco {
	case "npm":
		return bucket.NewNpm(ghsaDataSource("npm"))
	case "maven":
		return bucket.NewMaven(ghsaDataSource("Maven"))
	}
	return nil, fmt.Errorf("unknown ecosystem %q", eco)
}

// generate writes outDir/trivy.db and outDir/metadata.json the way `trivy-db build` plus the
// Makefile's `bbolt compact` would: sources write the staging buckets, then the optimize and
// cleanup steps of pkg/vulndb turn them into the buckets Trivy reads.
func generate(outDir string, updatedAt, nextUpdate time.Time) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	stage, err := os.MkdirTemp("", "trivy-db-fixture-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)

	if err := db.Init(stage); err != nil {
		return fmt.Errorf("db init: %w", err)
	}
	err = insert()
	if err == nil {
		err = optimize()
	}
	if err == nil {
		err = cleanup()
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}

	if err := compact(db.Path(stage), db.Path(outDir)); err != nil {
		return fmt.Errorf("compact: %w", err)
	}

	// metadata.Client is what trivy-db's build uses; it writes DownloadedAt as Go's zero time.
	return metadata.NewClient(outDir).Update(metadata.Metadata{
		Version:    db.SchemaVersion,
		NextUpdate: nextUpdate.UTC(),
		UpdatedAt:  updatedAt.UTC(),
	})
}

// insert does what pkg/vulnsrc/osv (used by the GHSA source) and pkg/vulnsrc/nvd put for each
// record. The NVD detail matters: Trivy takes a CVE's published date only from NVD.
func insert() error {
	dbc := db.Config{}
	return dbc.BatchUpdate(func(tx *bolt.Tx) error {
		for _, r := range records {
			bkt, err := ghsaBucket(r.ecosystem)
			if err != nil {
				return err
			}
			if err := dbc.PutDataSource(tx, bkt.Name(), bkt.DataSource()); err != nil {
				return err
			}
			adv := types.Advisory{
				VendorIDs:          []string{r.ghsaID},
				VulnerableVersions: r.vulnerable,
				PatchedVersions:    r.patched,
			}
			if err := dbc.PutAdvisoryDetail(tx, r.vulnID, r.pkgName, []string{bkt.Name()}, adv); err != nil {
				return err
			}
			published := r.published
			ghsa := types.VulnerabilityDetail{
				Severity:      r.severity,
				References:    r.refs,
				Title:         r.title,
				Description:   r.desc,
				CvssScoreV3:   r.cvssV3Sc,
				CvssVectorV3:  r.cvssV3,
				PublishedDate: &published,
			}
			if err := dbc.PutVulnerabilityDetail(tx, r.vulnID, vulnerability.GHSA, ghsa); err != nil {
				return err
			}
			if err := dbc.PutVulnerabilityID(tx, r.vulnID); err != nil {
				return err
			}
			nvd := types.VulnerabilityDetail{
				CvssScoreV3:   r.cvssV3Sc,
				CvssVectorV3:  r.cvssV3,
				SeverityV3:    r.severity,
				CweIDs:        r.cweIDs,
				References:    r.refs,
				Description:   r.desc,
				PublishedDate: &published,
			}
			if err := dbc.PutVulnerabilityDetail(tx, r.vulnID, vulnerability.NVD, nvd); err != nil {
				return err
			}
		}
		return nil
	})
}

// optimize mirrors pkg/vulndb's optimize: copy advisories into the "<eco>::<source>" buckets and
// merge the per-source details into the "vulnerability" bucket Trivy reads.
func optimize() error {
	dbc := db.Config{}
	vc := vulnerability.New(dbc)
	return dbc.ForEachVulnerabilityID(func(tx *bolt.Tx, vulnID string) error {
		details := vc.GetDetails(vulnID)
		if vc.IsRejected(details) {
			return nil
		}
		if err := dbc.SaveAdvisoryDetails(tx, vulnID); err != nil {
			return err
		}
		if len(details) == 0 {
			return nil
		}
		return dbc.PutVulnerability(tx, vulnID, vc.Normalize(vulnID, details))
	})
}

// cleanup mirrors pkg/vulndb's cleanup: drop the staging buckets.
func cleanup() error {
	dbc := db.Config{}
	if err := dbc.DeleteVulnerabilityIDBucket(); err != nil {
		return err
	}
	if err := dbc.DeleteVulnerabilityDetailBucket(); err != nil {
		return err
	}
	return dbc.DeleteAdvisoryDetailBucket()
}

// compact copies src into a fresh dst (like `bbolt compact -o dst src`), leaving no free pages
// from the deleted staging buckets. dst is written beside its final name, then renamed.
func compact(src, dst string) error {
	from, err := bolt.Open(src, 0o644, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer from.Close()

	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp")
	_ = os.Remove(tmp)
	to, err := bolt.Open(tmp, 0o644, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	err = bolt.Compact(to, from, compactTxMaxSize)
	if cerr := to.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}
