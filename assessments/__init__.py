"""Clinical assessments: SLEDAI-2K, renal assessment, labs, vitals, dosing and medication forms."""
