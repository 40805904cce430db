//! The DDL generated from the example catalog, per dialect (snapshots), and the table
//! description it comes from.

use datavern_sql::Backend;
use datavern_store::schema::{catalog_statements, describe};

use crate::support::{KOMMUNE, catalog};

#[test]
fn example_catalog_ddl_per_dialect() {
    let catalog = catalog(KOMMUNE);
    for backend in Backend::ALL {
        let statements = catalog_statements(&catalog, backend).unwrap();
        let ddl = statements.join(";\n\n") + ";\n";
        insta::assert_snapshot!(format!("kommune_{backend}"), ddl);
    }
}

#[test]
fn description_of_a_collection_with_subject_references() {
    let catalog = catalog(KOMMUNE);
    let soknader = catalog.collection("barnehagesoknader").unwrap();
    insta::assert_json_snapshot!(describe(soknader));
}

#[test]
fn every_generated_identifier_fits_postgresql() {
    let catalog = catalog(KOMMUNE);
    for collection in catalog.collections() {
        let table = describe(collection);
        assert!(table.table.len() <= 63);
        for column in &table.columns {
            assert!(column.name.len() <= 63, "{}", column.name);
        }
    }
}
