"""The periodic jobs that flag overdue and missed visits and late SAE reports, raising alerts."""
