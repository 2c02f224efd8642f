"""The site's signed archive: casebook PDFs, the site archive job and the annotated CRF."""
