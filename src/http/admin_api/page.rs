//! Pagination, the same on every list: `?limit=` (default 50, at most 200) and `?offset=`;
//! answered as `{"items": [...], "total": N, "limit": L, "offset": O}`.
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// A checked page request.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    /// The page `limit` and `offset` ask for, or 400 when they are out of range.
    pub fn new(limit: Option<i64>, offset: Option<i64>) -> Result<Page, ApiError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid_request(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        let offset = offset.unwrap_or(0);
        if offset < 0 {
            return Err(ApiError::invalid_request("offset must not be negative"));
        }
        Ok(Page { limit, offset })
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// How many items match in all.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

impl<T> Paged<T> {
    pub fn of(items: Vec<T>, total: i64, page: Page) -> Paged<T> {
        Paged {
            items,
            total,
            limit: page.limit,
            offset: page.offset,
        }
    }

    /// The page of a list held whole in memory.
    pub fn slice(all: Vec<T>, page: Page) -> Paged<T> {
        let total = i64::try_from(all.len()).unwrap_or(i64::MAX);
        let skip = usize::try_from(page.offset).unwrap_or(usize::MAX);
        let take = usize::try_from(page.limit).unwrap_or(0);
        let items = all.into_iter().skip(skip).take(take).collect();
        Paged::of(items, total, page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_offsets() {
        let p = Page::new(None, None).unwrap();
        assert_eq!((p.limit, p.offset), (DEFAULT_LIMIT, 0));
        let p = Page::new(Some(200), Some(7)).unwrap();
        assert_eq!((p.limit, p.offset), (200, 7));
        for (limit, offset) in [(Some(0), None), (Some(201), None), (None, Some(-1))] {
            let e = Page::new(limit, offset).unwrap_err();
            assert_eq!((e.status.as_u16(), e.code), (400, "invalid_request"));
        }
        let page = Paged::slice(vec![1, 2, 3, 4, 5], Page::new(Some(2), Some(3)).unwrap());
        assert_eq!(
            (page.items, page.total, page.limit, page.offset),
            (vec![4, 5], 5, 2, 3)
        );
        let past = Paged::slice(vec![1], Page::new(None, Some(i64::MAX)).unwrap());
        assert_eq!((past.items, past.total), (Vec::<i32>::new(), 1));
    }
}
