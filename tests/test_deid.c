/* test_deid.c: de-identification of Chinese clinical text (src/privacy/deid.c, deid_detect.c).
 *
 * The ID checksum; each type's written forms found with exact character offsets (and the
 * look-alikes left alone: 18-digit non-IDs, 11-digit specimen numbers, 高血压 after 患者, ages up
 * to 89, year-only dates); dates shifted across month, year and leap-day boundaries in their own
 * format; overlaps resolved longest-first; offsets in characters with mixed ASCII and CJK; bad
 * input refused (invalid UTF-8, NUL, bad spans, bad config JSON); allocation failure at every
 * step; many threads on one config; the `ward deid` command's exit codes. Names and record numbers
 * where hospitals write them: role labels and signatures, lists, titles after a name, relations in
 * parentheses, table cells and columns, English labels, labels spread by spaces. Last, the
 * detector's recall and precision per type on our own labelled sets, tests/data/deid/tuning.jsonl
 * dev2.jsonl and dev3.jsonl (thresholds below).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "privacy/deid.h"
#include "base/error.h"
#include "harness.h"

#define TUNING WARD_SOURCE_DIR "/tests/data/deid/tuning.jsonl"
#define DEV2 WARD_SOURCE_DIR "/tests/data/deid/dev2.jsonl"
#define DEV3 WARD_SOURCE_DIR "/tests/data/deid/dev3.jsonl"

/* The character offset of the first occurrence of needle in text, or -1. */
static int64_t char_offset(const char *text, const char *needle) {
    const char *p = strstr(text, needle);
    return p ? deid_utf8_chars(text, (size_t)(p - text)) : -1;
}

static deid_span *find_all(const deid_config *c, const char *text, size_t *n) {
    deid_span *s = NULL;
    deid_error e = {0};
    const deid_status st = deid_find(c, text, strlen(text), &s, n, &e);
    CHECK(st == DEID_OK, "deid_find on \"%s\": %s", text, e.msg);
    return s;
}

/* text contains exactly the span piece (its first occurrence) with type t. */
static void expect(const char *text, deid_type t, const char *piece) {
    deid_config c;
    deid_config_init(&c);
    size_t n = 0;
    deid_span *s = find_all(&c, text, &n);
    const int64_t a = char_offset(text, piece), b = a + deid_utf8_chars(piece, strlen(piece));
    bool ok = false;
    for (size_t k = 0; k < n; k++) ok |= s[k].start == a && s[k].end == b && s[k].type == t;
    CHECK(ok && a >= 0, "\"%s\": %s \"%s\" [%lld, %lld) found", text, deid_type_name(t), piece,
          (long long)a, (long long)b);
    free(s);
}

/* No span of type t anywhere in text. */
static void expect_none(const char *text, deid_type t) {
    deid_config c;
    deid_config_init(&c);
    size_t n = 0;
    deid_span *s = find_all(&c, text, &n);
    int64_t bad = -1;
    for (size_t k = 0; k < n; k++)
        if (s[k].type == t) bad = s[k].start;
    CHECK(bad < 0, "\"%s\": no %s expected, one at %lld", text, deid_type_name(t), (long long)bad);
    free(s);
}

/* deid_redact with shift days gives want. */
static void expect_redact(const char *text, int shift, const char *want) {
    deid_config c;
    deid_config_init(&c);
    c.shift_days = shift;
    char *out = NULL;
    deid_error e = {0};
    CHECK(deid_redact(&c, text, strlen(text), &out, &e) == DEID_OK && out && !strcmp(out, want),
          "\"%s\" shifted %d: want \"%s\", got \"%s\" %s", text, shift, want, out ? out : "(null)", e.msg);
    free(out);
}

/* ---------------------------------------------------------------------------------------------
 * Numbers
 * ------------------------------------------------------------------------------------------- */

static void test_checksum(void) {
    CHECK(deid_id_checksum_ok("11010519491231002X"), "valid, check X");
    CHECK(deid_id_checksum_ok("11010519491231002x"), "valid, check x");
    CHECK(deid_id_checksum_ok("440304198811235429"), "valid, check digit");
    CHECK(!deid_id_checksum_ok("440304198811235428"), "wrong check digit");
    CHECK(!deid_id_checksum_ok("110105194912310021"), "a digit where X belongs");
    CHECK(!deid_id_checksum_ok("11010519491231002"), "17 characters");
    CHECK(!deid_id_checksum_ok("11010519491231002X1"), "19 characters");
    CHECK(!deid_id_checksum_ok("1101051949123100AX"), "a letter inside");
    CHECK(!deid_id_checksum_ok(NULL), "NULL");
}

static void test_id_phone_record(void) {
    expect("身份证号：11010519491231002X，", DEID_ID_NUMBER, "11010519491231002X");
    expect("身份证440304198811235429", DEID_ID_NUMBER, "440304198811235429");
    expect("证件号 510104 19750819 3011 已核对", DEID_ID_NUMBER, "510104 19750819 3011");
    expect_none("流水号：440304198811235428。", DEID_ID_NUMBER);     /* checksum wrong */
    expect_none("编号4403041988112354290", DEID_ID_NUMBER);          /* 19 digits */
    expect("手机13812345678。", DEID_PHONE, "13812345678");
    expect("手机 138-1234-5678", DEID_PHONE, "138-1234-5678");
    expect("call 138 1234 5678 now", DEID_PHONE, "138 1234 5678");
    expect("电话+86 135 1234 5678", DEID_PHONE, "+86 135 1234 5678");
    expect("（+86）13512345678", DEID_PHONE, "（+86）13512345678");
    expect("0086-13512345678", DEID_PHONE, "0086-13512345678");
    expect("科室0571-87654321转123", DEID_PHONE, "0571-87654321转123");
    expect("(010)6512-3456", DEID_PHONE, "(010)6512-3456");
    expect("号码010-65123456-801。", DEID_PHONE, "010-65123456-801");
    expect("座机 02164041990", DEID_PHONE, "02164041990");
    expect("电话：8765 4321", DEID_PHONE, "8765 4321");
    expect_none("条码号：13800001111", DEID_PHONE);
    expect_none("血小板156×10^9/L，尿量1500ml", DEID_PHONE);
    expect_none("编号123456789012", DEID_PHONE);
    expect("住院号：ZY20230315。", DEID_RECORD_NUMBER, "ZY20230315");
    expect("病案号 00583921 床号12", DEID_RECORD_NUMBER, "00583921");
    expect("住院号/病案号：2023-0045678", DEID_RECORD_NUMBER, "2023-0045678");
    expect("ID：0003847562", DEID_RECORD_NUMBER, "0003847562");
    expect("医保卡号：1234567890", DEID_RECORD_NUMBER, "1234567890");
    expect("社保卡号:M12345678A", DEID_RECORD_NUMBER, "M12345678A");
    expect("住院号：13812345678", DEID_RECORD_NUMBER, "13812345678"); /* the label wins */
    expect_none("床号：12床", DEID_RECORD_NUMBER);
    expect_none("ANDROID:12345", DEID_RECORD_NUMBER);
}

/* ---------------------------------------------------------------------------------------------
 * Dates and ages
 * ------------------------------------------------------------------------------------------- */

static void test_dates(void) {
    expect("于2023年3月5日入院", DEID_DATE, "2023年3月5日");
    expect("2023年3月5日14:30入院", DEID_DATE, "2023年3月5日14:30");
    expect("时间：2023-03-15 09:20，", DEID_DATE, "2023-03-15 09:20");
    expect("2023/3/5复查", DEID_DATE, "2023/3/5");
    expect("2023.03.05复查", DEID_DATE, "2023.03.05");
    expect("于3月5日出院", DEID_DATE, "3月5日");
    expect("3月5号出院", DEID_DATE, "3月5号");
    expect_none("2019年发病，2019年3月加重", DEID_DATE);
    expect_none("2023年2月30日", DEID_DATE);
    expect_none("13月1日", DEID_DATE);
    expect_none("版本2023.03.05.1", DEID_DATE);
    expect_redact("2023年12月31日", 1, "2024年1月1日");
    expect_redact("2024-02-28", 1, "2024-02-29");
    expect_redact("2023-02-28", 1, "2023-03-01");
    expect_redact("2023/3/1", -1, "2023/2/28");
    expect_redact("2024.03.01", -1, "2024.02.29");
    expect_redact("2000年2月28日", 1, "2000年2月29日");  /* a leap year */
    expect_redact("1900年2月28日", 1, "1900年3月1日");   /* not one */
    expect_redact("2023年03月05日", 30, "2023年04月04日");
    expect_redact("2023-12-15", 20, "2024-01-04");
    expect_redact("2023年12月15日", 20, "2024年1月4日");
    expect_redact("２０２３年１１月５日", 30, "２０２３年１２月５日");
    expect_redact("2023年3月5日14:30入院", 10, "2023年3月15日14:30入院");
    expect_redact("2023-03-05T14:30:00", -5, "2023-02-28T14:30:00");
    expect_redact("2024年2月1日入院，3月1日出院", -1, "2024年1月31日入院，2月29日出院");
    expect_redact("2023年2月1日入院，3月1日出院", -1, "2023年1月31日入院，2月28日出院");
    expect_redact("12月30日", 5, "1月4日");
    expect_redact("2019年发病", 100, "2019年发病");
    expect_redact("2023年3月5日", 0, "2023年3月5日");
    expect_redact("2023年3月5日", 365, "2024年3月4日");
}

static void test_ages(void) {
    expect("患者女，90岁，", DEID_AGE, "90岁");
    expect("患者男，92岁", DEID_AGE, "92岁");
    expect("年龄：95，", DEID_AGE, "95");
    expect("九十二岁", DEID_AGE, "九十二岁");
    expect("一百零一岁", DEID_AGE, "一百零一岁");
    expect("93周岁", DEID_AGE, "93周岁");
    expect("90余岁", DEID_AGE, "90余岁");
    expect("九旬老人", DEID_AGE, "九旬");
    expect("年龄: 91Y", DEID_AGE, "91Y");
    expect_none("患者男，89岁，其妻八十九岁", DEID_AGE);
    expect_none("术后92天，体重90kg，90%", DEID_AGE);
    expect_none("本院90岁以上患者", DEID_AGE);
    expect_none("年龄：45岁", DEID_AGE);
    expect_redact("患者男，89岁", 0, "患者男，89岁");
    expect_redact("患者男，90岁", 0, "患者男，[年龄]");
}

/* ---------------------------------------------------------------------------------------------
 * Names, organisations, addresses
 * ------------------------------------------------------------------------------------------- */

static void test_names(void) {
    expect("患者张三，男，45岁", DEID_NAME, "张三");
    expect("患者王建国因胸痛入院", DEID_NAME, "王建国");
    expect("姓名：欧阳娜娜", DEID_NAME, "欧阳娜娜");
    expect("李秀英，女，70岁，", DEID_NAME, "李秀英");
    expect("其女李四陪同", DEID_NAME, "李四");
    expect("张伟医生查房", DEID_NAME, "张伟");
    expect("经刘医生会诊", DEID_NAME, "刘");
    expect("孙秀珍女士，您好", DEID_NAME, "孙秀珍");
    expect("家属：李某某", DEID_NAME, "李某某");
    expect("主刀：郭振华  一助：蔡文斌", DEID_NAME, "蔡文斌");
    expect("参加讨论人员：张明、李华、王芳。", DEID_NAME, "王芳");
    expect("张三丰之子", DEID_NAME, "张三丰");
    expect("家属（儿子）张伟到场", DEID_NAME, "张伟");
    expect("患者姓名为刘小燕，", DEID_NAME, "刘小燕");
    static const char *const negatives[] = {
        "患者高血压10年，黄疸1周，白细胞升高，常规检查，周期性发作，既往史无特殊。",
        "患者平素体健，全身乏力，于今日入院，曾于2019年手术，安静入睡，康复出院。",
        "患者于凌晨3点出现胸痛，方可下床活动，连日来纳差，严重贫血，一般情况尚可。",
        "麻醉医师评估后，予华法林、万古霉素、雷贝拉唑、柴胡口服，石膏固定。",
        "医生建议复查，家属签字同意，家属表示理解，患儿母亲诉吃奶差，经常找不到东西。",
        "血压升高医生予降压处理，处方医生已签字，任何医生不得擅自更改。",
    };
    for (size_t k = 0; k < sizeof negatives / sizeof negatives[0]; k++)
        expect_none(negatives[k], DEID_NAME);
    /* a name found once is found everywhere; the config's names everywhere */
    deid_config c;
    deid_config_init(&c);
    deid_error e = {0};
    const char *cfg = "{\"names\":[\"小明\"]}";
    CHECK(deid_config_parse(&c, cfg, strlen(cfg), &e) == DEID_OK, "names config: %s", e.msg);
    char *out = NULL;
    const char *text = "患者黄磊因高热入院。黄磊既往体健。小明来访。";
    CHECK(deid_redact(&c, text, strlen(text), &out, &e) == DEID_OK && out &&
              !strcmp(out, "患者[姓名]因高热入院。[姓名]既往体健。[姓名]来访。"),
          "repeated and configured names: %s", out ? out : e.msg);
    free(out);
    deid_config_free(&c);
}

/* Where staff and relatives' names stand in hospital documents (docs/deid.md, "name"). */
static void test_names_in_documents(void) {
    expect("麻醉方式：腰麻    麻醉者：蔺晓军\n", DEID_NAME, "蔺晓军");          /* X者： */
    expect("编码员：桂晓峰  病案整理者：喻敏", DEID_NAME, "喻敏");
    expect("白班：郑丽 吴芳    小夜班：宋雅琴", DEID_NAME, "吴芳");               /* shift, list */
    expect("交：熊燕  接：邓小琴", DEID_NAME, "邓小琴");
    expect("住院病历\n姓    名：司马文静      性    别：女", DEID_NAME, "司马文静"); /* spaced label */
    expect("会诊意见（神经内科 胡明 主治医师）：同意", DEID_NAME, "胡明");      /* spaced title */
    expect("陈志华 主任医师  李娜 主治医师", DEID_NAME, "李娜");
    expect("参加抢救人员：祁明、卞晓燕（护士）、贾静（护士）", DEID_NAME, "贾静"); /* role in () */
    expect("家属黄少华（女儿）表示理解", DEID_NAME, "黄少华");
    expect("术由宋志强主任医师主刀，肖鹏、邵琳医师协助。", DEID_NAME, "肖鹏");   /* list backwards */
    expect("诊断医师：郦雪 戚文    报告日期", DEID_NAME, "戚文");              /* spaced list */
    expect("医生签名：仲夏 / 景红", DEID_NAME, "景红");
    expect("由其妻宁桂芝发现后送至卫生院", DEID_NAME, "宁桂芝");               /* given-name chars */
    expect("患者由其侄子周勇送入院。", DEID_NAME, "周勇");                     /* not 周勇送 */
    expect("新生儿父亲孙浩陪护。", DEID_NAME, "孙浩");
    expect("上级医师刘主任查房后指示", DEID_NAME, "刘");                       /* not 师刘 */
    expect("今晨孔副主任查房", DEID_NAME, "孔");
    expect("……嘱继续观察。\n                邹晨", DEID_NAME, "邹晨");          /* own line */
    expect("姓名        性别    年龄\n耿玉兰      女      77", DEID_NAME, "耿玉兰"); /* column */
    expect("3床 曹桂芳 术后第一天", DEID_NAME, "曹桂芳");                      /* bed */
    expect("值班医师（孙晓东）接诊患者。", DEID_NAME, "孙晓东");
    expect("委托人（患者）：汪德胜    被委托人", DEID_NAME, "汪德胜");
    expect("姓名：阿依古丽·买买提    性别：女", DEID_NAME, "阿依古丽·买买提");  /* no surname */
    expect("检验：支文慧   核对：郝刚", DEID_NAME, "支文慧");
    expect("Patient: 王晓梅 (F/48)", DEID_NAME, "王晓梅");
    expect("医生：卢  护士：陈", DEID_NAME, "陈");
    /* no cue: a clause start and a verb after, then every other occurrence in the text */
    expect("梁小兰诉今晨头晕加重。", DEID_NAME, "梁小兰");
    expect("病情告知：今日与庞丽天沟通病情。", DEID_NAME, "庞丽天");
    expect("下午请闵建华会诊。", DEID_NAME, "闵建华");
    expect("返回后庄康称稍感疲倦。", DEID_NAME, "庄康");
    expect("现病史：梅胜于3小时前摔伤。", DEID_NAME, "梅胜");
    expect("建议急诊手术。闵成及家属同意。", DEID_NAME, "闵成");
    expect("其子伍晨探视后好转。", DEID_NAME, "伍晨");
    expect_redact("查房后指出：崔成目前心功能Ⅲ级。崔成今日尿量2100ml，陪护崔成的家属在场。", 0,
                  "查房后指出：[姓名]目前心功能Ⅲ级。[姓名]今日尿量2100ml，陪护[姓名]的家属在场。");
    static const char *const clause_negatives[] = {
        "患者高热不退，程度较轻，方可下床，常规同意，安静入睡，于今日出院。",
        "由于家属拒绝，经家属同意，与家属沟通，向家属交代，请示上级医师，及时复查。",
        "夏天无明显诱因，余无特殊，温度已降，周围无红肿，黄疸已退，石膏已拆。",
        "术后高度怀疑感染，白细胞已降，华法林已停，宁波市民，全家同意。",
    };
    for (size_t k = 0; k < sizeof clause_negatives / sizeof clause_negatives[0]; k++)
        expect_none(clause_negatives[k], DEID_NAME);
    static const char *const negatives[] = {
        "医师向家属交代病情，家属表示理解。",
        "安全  周到  舒适  温馨\n金银花  15g\n苏叶  10g\n白芍  12g",
        "检验项目      结果\n白细胞        8.2\n血红蛋白      112",
        "双人核对  一同前往  陪同检查  送入病房  共同讨论",
        "3床 病情平稳  5床 术后第二天  12床 待出院",
        "交：病情平稳  接：继续观察  白班：常规治疗",
        "心内科 护士站  外科 医生办公室",
        "签名：  日期：\n记录者：（略）\n家属：本人\n联系人：无",
    };
    for (size_t k = 0; k < sizeof negatives / sizeof negatives[0]; k++)
        expect_none(negatives[k], DEID_NAME);
}

static void test_record_layouts(void) {
    expect("住 院 号：2023087765\n", DEID_RECORD_NUMBER, "2023087765");         /* spaced label */
    expect("Inpatient No.: ZY20230118   Name:", DEID_RECORD_NUMBER, "ZY20230118");
    expect("Hospital No. 1029384  Case", DEID_RECORD_NUMBER, "1029384");
    expect("MRN 1128347 / Bed 12", DEID_RECORD_NUMBER, "1128347");
    expect("住院号（病案号）：0091823", DEID_RECORD_NUMBER, "0091823");
    expect("就诊卡号：6102 3345 1121 医保", DEID_RECORD_NUMBER, "6102 3345 1121");
    expect("住院号          0016752        床号", DEID_RECORD_NUMBER, "0016752");
    expect("新农合证号：4127260301234", DEID_RECORD_NUMBER, "4127260301234");
    expect("留观号：LG2023089  患者", DEID_RECORD_NUMBER, "LG2023089");
    expect("姓名    住院号      床号\n张三    0016752     21\n", DEID_RECORD_NUMBER, "0016752"); /* column */
    expect("患者基本信息\n住院号\n0023567891\n姓名", DEID_RECORD_NUMBER, "0023567891"); /* below */
    expect_none("姓名    住院号      床号\n张三    0016752     21\n", DEID_PHONE);
    expect_none("床号：12  标本号：202305120012  批号：20230318  医嘱号：YZ230512003", DEID_RECORD_NUMBER);
    expect_none("住院号 床号 姓名\n\n住院次数：3", DEID_RECORD_NUMBER);
    expect_none("医保卡余额：1234元，ID 12345", DEID_RECORD_NUMBER);
    expect("龄：45岁   病员号：MZ-291636\n科别", DEID_RECORD_NUMBER, "MZ-291636");
    expect("医保个人编号：2452262481\n", DEID_RECORD_NUMBER, "2452262481");
    expect("住院号码\n2023/902528\n科室", DEID_RECORD_NUMBER, "2023/902528");     /* slash */
    expect("IC卡号：0196038846\n", DEID_RECORD_NUMBER, "0196038846");           /* not a phone */
    expect("住院病案号：NO.0012345 ", DEID_RECORD_NUMBER, "0012345");
    expect("姓名：王芳\t门诊病历号：\tZY-2023-001\t费别", DEID_RECORD_NUMBER, "ZY-2023-001");
    expect_none("住院号：2023/4/5 入院", DEID_RECORD_NUMBER);                   /* a date */
    expect("患者就职于华为技术有限公司，长期加班", DEID_ORG, "华为技术有限公司");
    expect("患者自2008年起在温州正泰电器股份有限公司从事电焊工作", DEID_ORG, "温州正泰电器股份有限公司");
}

static void test_orgs_addresses(void) {
    expect("工作单位：杭州某某科技有限公司。", DEID_ORG, "杭州某某科技有限公司");
    expect("就读于杭州市学军小学二年级", DEID_ORG, "杭州市学军小学");
    expect("患者系浙江大学学生", DEID_ORG, "浙江大学");
    expect("在宁波舟山港集团有限公司工作", DEID_ORG, "宁波舟山港集团有限公司");
    expect("阿里巴巴（中国）有限公司员工", DEID_ORG, "阿里巴巴（中国）有限公司");
    expect("就职于中国银行，", DEID_ORG, "中国银行");
    expect_none("就诊于浙江大学医学院附属第一医院，后转至我院。", DEID_ORG);
    /* no cue: a lead word (在, 于, 参加) before an unambiguous suffix; 职业：工人（…） */
    expect("3小时前在中国农业银行萧山支行加班时摔伤", DEID_ORG, "中国农业银行萧山支行");
    expect("一周前参加台州天元律师事务所组织的体检", DEID_ORG, "台州天元律师事务所");
    expect("职业：工人（桐乡市濮院毛衫厂）  文化程度", DEID_ORG, "桐乡市濮院毛衫厂");
    expect_none("在附近超市购物时摔倒，在一家公司打工，在该公司工作，当地医院医生予输液，"
                "急诊中心医生建议转院，社区卫生服务中心医生随访。", DEID_ORG);
    /* an address does not take 组 of 组织, nor the places of a hospital's name */
    expect_none("参加台州天元律师事务所组织的体检，转至杭州市西湖区人民医院，"
                "出院后至绍兴市上虞区中医院复查。", DEID_ADDRESS);
    expect_none("小学文化，大学学历，局部麻醉，由某某制药有限公司生产。", DEID_ORG);
    expect("家住浙江省杭州市西湖区文三路100号3单元502室。", DEID_ADDRESS,
           "浙江省杭州市西湖区文三路100号3单元502室");
    expect("河南省郑州市金水区花园路88号人", DEID_ADDRESS, "河南省郑州市金水区花园路88号");
    expect("住址：山东省青岛市市南区香港中路10号3号楼2单元1201，电话", DEID_ADDRESS,
           "山东省青岛市市南区香港中路10号3号楼2单元1201");
    expect("籍贯：浙江杭州。", DEID_ADDRESS, "浙江杭州");
    expect("户籍湖北省黄冈市浠水县兰溪镇河口村3组", DEID_ADDRESS, "湖北省黄冈市浠水县兰溪镇河口村3组");
    expect("患者从浙江省杭州市转来", DEID_ADDRESS, "浙江省杭州市");
    expect_none("心内科3病区12床，门诊2号楼3层，治疗组与对照组，肝肾区叩痛。", DEID_ADDRESS);
    expect_none("转入心内科病区2号床，外科3区12床，住院部5楼，患者来自农村。", DEID_ADDRESS);
    /* the longest detection wins: an organisation holding an address */
    deid_config c;
    deid_config_init(&c);
    size_t n = 0;
    deid_span *s = find_all(&c, "工作单位：杭州市西湖区某某科技有限公司", &n);
    CHECK(n == 1 && s && s[0].type == DEID_ORG && s[0].start == 5 && s[0].end == 19,
          "one org span over the address inside it (%zu spans)", n);
    free(s);
}

/* ---------------------------------------------------------------------------------------------
 * Offsets, placeholders, apply, errors
 * ------------------------------------------------------------------------------------------- */

static void test_offsets_placeholders(void) {
    deid_config c;
    deid_config_init(&c);
    const char *text = "Tel: 13812345678, 患者Zhang San, 姓名：张三，男。";
    size_t n = 0;
    deid_span *s = find_all(&c, text, &n);
    CHECK(n == 2 && s && s[0].type == DEID_PHONE && s[0].start == 5 && s[0].end == 16 &&
              s[1].type == DEID_NAME && s[1].start == 34 && s[1].end == 36,
          "offsets are characters: %zu spans, first [%lld, %lld)", n,
          n ? (long long)s[0].start : -1LL, n ? (long long)s[0].end : -1LL);
    free(s);
    deid_error e = {0};
    const char *cfg = "{\"placeholders\":{\"name\":\"<NAME>\",\"phone\":\"\"},\"types\":[\"name\",\"phone\"]}";
    CHECK(deid_config_parse(&c, cfg, strlen(cfg), &e) == DEID_OK, "placeholder config: %s", e.msg);
    char *out = NULL;
    CHECK(deid_redact(&c, text, strlen(text), &out, &e) == DEID_OK && out &&
              !strcmp(out, "Tel: , 患者Zhang San, 姓名：<NAME>，男。"),
          "custom placeholders: %s", out ? out : e.msg);
    free(out);
    /* types off are not looked for */
    CHECK(deid_config_set_types(&c, "age", &e) == DEID_OK, "set types");
    s = find_all(&c, text, &n);
    CHECK(n == 0, "only ages: nothing here (%zu)", n);
    free(s);
    CHECK(deid_config_set_types(&c, "age,bogus", &e) == DEID_INVALID && strstr(e.msg, "bogus"),
          "unknown type named: %s", e.msg);
    deid_config_free(&c);
}

static void test_bad_input(void) {
    deid_config c;
    deid_config_init(&c);
    static const struct { const char *bytes; size_t len; } bad[] = {
        {"ab\xff", 3}, {"\xc0\xaf", 2}, {"\xed\xa0\x80", 3}, {"\xe5\xbc", 2},
        {"\xf4\x90\x80\x80", 4}, {"a\0b", 3}, {"\x80", 1}, {"\xe5\xbc\xa0\xe4", 4},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        deid_span *s = (deid_span *)&c;
        size_t n = 99;
        char *out = (char *)&c;
        deid_error e = {0};
        CHECK(deid_find(&c, bad[k].bytes, bad[k].len, &s, &n, &e) == DEID_INVALID && !s && n == 0 &&
                  strstr(e.msg, "invalid UTF-8"),
              "bad UTF-8 %zu refused by find: %s", k, e.msg);
        CHECK(deid_redact(&c, bad[k].bytes, bad[k].len, &out, &e) == DEID_INVALID && !out,
              "bad UTF-8 %zu refused by redact", k);
    }
    /* empty text */
    deid_span *s = NULL;
    size_t n = 1;
    char *out = NULL;
    deid_error e = {0};
    CHECK(deid_find(&c, "", 0, &s, &n, &e) == DEID_OK && !s && n == 0, "empty text: no spans");
    CHECK(deid_redact(&c, "", 0, &out, &e) == DEID_OK && out && !strcmp(out, ""), "empty text out");
    free(out);
    CHECK(deid_find(&c, NULL, 0, &s, &n, &e) == DEID_OK && n == 0, "NULL with length 0");
    /* spans given to apply must be sorted, inside and not overlapping */
    const char *text = "张三李四";
    const deid_span overlap[2] = {{0, 2, DEID_NAME}, {1, 3, DEID_NAME}};
    const deid_span outside[1] = {{2, 5, DEID_NAME}};
    const deid_span empty[1] = {{1, 1, DEID_NAME}};
    const deid_span good[2] = {{0, 2, DEID_NAME}, {2, 4, DEID_DATE}};
    CHECK(deid_apply(&c, text, strlen(text), overlap, 2, &out, &e) == DEID_INVALID && !out, "overlap refused");
    CHECK(deid_apply(&c, text, strlen(text), outside, 1, &out, &e) == DEID_INVALID, "outside refused");
    CHECK(deid_apply(&c, text, strlen(text), empty, 1, &out, &e) == DEID_INVALID, "empty span refused");
    CHECK(deid_apply(&c, text, strlen(text), good, 2, &out, &e) == DEID_OK && out &&
              !strcmp(out, "[姓名][日期]"),
          "a date span that is no date gets the date placeholder: %s", out ? out : e.msg);
    free(out);
}

static void test_config_errors(void) {
    static const struct { const char *json, *says; } cases[] = {
        {"{not json", "not valid JSON"},
        {"[1]", "not a JSON object"},
        {"{\"colour\":1}", "colour"},
        {"{\"types\":[\"name\",\"email\"]}", "email"},
        {"{\"types\":\"name\"}", "types"},
        {"{\"shift_days\":1.5}", "shift_days"},
        {"{\"shift_days\":99999}", "shift_days"},
        {"{\"shift_days\":\"3\"}", "shift_days"},
        {"{\"placeholders\":{\"nom\":\"x\"}}", "nom"},
        {"{\"placeholders\":{\"name\":7}}", "placeholder"},
        {"{\"placeholders\":{\"name\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"}}", "placeholder"},
        {"{\"names\":\"张三\"}", "names"},
        {"{\"names\":[\"\"]}", "names"},
        {"{\"org_words\":[3]}", "org_words"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        deid_config c;
        deid_config_init(&c);
        deid_error e = {0};
        CHECK(deid_config_parse(&c, cases[k].json, strlen(cases[k].json), &e) == DEID_INVALID &&
                  strstr(e.msg, cases[k].says),
              "config %s refused naming %s: %s", cases[k].json, cases[k].says, e.msg);
        deid_config_free(&c);
    }
    deid_config c;
    deid_config_init(&c);
    deid_error e = {0};
    const char *ok = "{\"types\":[\"org\"],\"shift_days\":-30,\"org_words\":[\"合作社\"],\"names\":[\"阿强\"]}";
    CHECK(deid_config_parse(&c, ok, strlen(ok), &e) == DEID_OK && c.shift_days == -30 &&
              c.shift_days_set && c.enabled[DEID_ORG] && !c.enabled[DEID_NAME] && c.n_org_words == 1,
          "a full config: %s", e.msg);
    size_t n = 0;
    deid_span *s = find_all(&c, "在红星农机合作社工作", &n);
    CHECK(n == 1 && s && s[0].start == 1 && s[0].end == 8, "a configured org suffix (%zu)", n);
    free(s);
    deid_config_free(&c);
    deid_config_free(&c); /* twice is fine */
    deid_config_free(NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Allocation failure, threads, the command
 * ------------------------------------------------------------------------------------------- */

static const char *const sample =
    "患者张三，男，92岁，身份证号11010519491231002X，电话13812345678，家住浙江省杭州市西湖区"
    "文三路100号。住院号：ZY2023001。于2023年3月5日入院。工作单位：杭州某某科技有限公司。";

static void test_oom(void) {
    deid_config c;
    deid_config_init(&c);
    const char *cfg = "{\"names\":[\"李四\"],\"org_words\":[\"合作社\"]}";
    deid_error e = {0};
    deid_config_parse(&c, cfg, strlen(cfg), &e);
    long n = 1;
    for (; n < 200; n++) {
        ward_alloc_fail_after(n);
        char *out = NULL;
        const deid_status st = deid_redact(&c, sample, strlen(sample), &out, &e);
        ward_alloc_fail_after(0);
        if (st == DEID_OK) {
            free(out);
            break;
        }
        CHECK(st == DEID_NO_MEMORY && !out, "allocation %ld failing gives DEID_NO_MEMORY (%d: %s)", n, st, e.msg);
    }
    CHECK(n > 1 && n < 200, "deid_redact succeeds once allocations do (%ld)", n);
    deid_config_free(&c);
}

typedef struct job {
    const deid_config *c;
    char *out;
} job;

static void *worker(void *arg) {
    job *j = arg;
    deid_error e;
    for (int k = 0; k < 20; k++) {
        free(j->out);
        j->out = NULL;
        deid_redact(j->c, sample, strlen(sample), &j->out, &e);
    }
    return NULL;
}

static void test_threads(void) {
    deid_config c;
    deid_config_init(&c);
    c.shift_days = 7;
    job jobs[4] = {{&c, NULL}, {&c, NULL}, {&c, NULL}, {&c, NULL}};
    pthread_t th[4];
    for (int k = 0; k < 4; k++) pthread_create(&th[k], NULL, worker, &jobs[k]);
    for (int k = 0; k < 4; k++) pthread_join(th[k], NULL);
    const char *want = "患者[姓名]，男，[年龄]，身份证号[身份证号]，电话[电话]，家住[地址]。住院号：[病案号]。"
                       "于2023年3月12日入院。工作单位：[单位]。";
    for (int k = 0; k < 4; k++) {
        CHECK(jobs[k].out && !strcmp(jobs[k].out, want), "thread %d: %s", k, jobs[k].out ? jobs[k].out : "(null)");
        free(jobs[k].out);
    }
}

static void test_command(void) {
    char in[256], bad[256], cmd[2048], out[8192];
    snprintf(in, sizeof in, "%s", test_tmp_path("deid-in"));
    snprintf(bad, sizeof bad, "%s", test_tmp_path("deid-bad"));
    FILE *f = fopen(in, "w");
    if (f) fputs("患者张三，电话13812345678，2023年3月5日入院。", f), fclose(f);
    f = fopen(bad, "wb");
    if (f) fputs("\xff\xfe", f), fclose(f);
    snprintf(cmd, sizeof cmd, "%s deid --shift-days 2 %s", WARD_BINARY, in);
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && !strcmp(out, "患者[姓名]，电话[电话]，2023年3月7日入院。"),
          "ward deid prints the text: %s", out);
    snprintf(cmd, sizeof cmd, "%s deid --json --types name < %s", WARD_BINARY, in);
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && strstr(out, "\"start\":2,\"end\":4,\"type\":\"name\"") &&
              !strstr(out, "张三") && !strstr(out, "phone"),
          "--json without the text: %s", out);
    snprintf(cmd, sizeof cmd, "%s deid --json --with-text %s", WARD_BINARY, in);
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && strstr(out, "\"text\":\"张三\""), "--with-text: %s", out);
    snprintf(cmd, sizeof cmd, "%s deid --bogus 2>/dev/null", WARD_BINARY);
    CHECK(run_cmd(cmd, out, sizeof out) == 2, "an unknown flag is a usage error");
    snprintf(cmd, sizeof cmd, "%s deid --types nonsense %s 2>/dev/null", WARD_BINARY, in);
    CHECK(run_cmd(cmd, out, sizeof out) == 2, "an unknown type is a usage error");
    snprintf(cmd, sizeof cmd, "%s deid --shift-days 99999 %s 2>/dev/null", WARD_BINARY, in);
    CHECK(run_cmd(cmd, out, sizeof out) == 2, "a shift out of range is a usage error");
    snprintf(cmd, sizeof cmd, "%s deid /nonexistent/x.txt 2>&1", WARD_BINARY);
    CHECK(run_cmd(cmd, out, sizeof out) == 1 && strstr(out, "/nonexistent/x.txt"), "missing file: %s", out);
    snprintf(cmd, sizeof cmd, "%s deid %s 2>&1", WARD_BINARY, bad);
    CHECK(run_cmd(cmd, out, sizeof out) == 1 && strstr(out, "invalid UTF-8 at byte 0"), "bad UTF-8: %s", out);
    snprintf(cmd, sizeof cmd, "%s deid --eval %s 2>&1", WARD_BINARY, in);
    CHECK(run_cmd(cmd, out, sizeof out) == 1 && strstr(out, ":1: not valid JSON"), "bad eval file: %s", out);
    snprintf(cmd, sizeof cmd, "%s deid --eval %s", WARD_BINARY, TUNING);
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && strstr(out, "recall") && strstr(out, "record_number"),
          "--eval prints the table: %s", out);
    snprintf(cmd, sizeof cmd, "%s deid --help", WARD_BINARY);
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && strstr(out, "--shift-days") && strstr(out, "--eval"),
          "--help lists the options");
    remove(in), remove(bad);
}

/* ---------------------------------------------------------------------------------------------
 * The tuning set
 * ------------------------------------------------------------------------------------------- */

/* Scores deid_find on every record of a labelled file; the number of records read. */
static int score_file(const char *path, deid_score *sc) {
    size_t len = 0;
    char *all = read_file(path, &len);
    CHECK(all != NULL, "%s readable", path);
    if (!all) return 0;
    deid_config c;
    deid_config_init(&c);
    int records = 0;
    for (char *line = all, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        cJSON *json = cJSON_Parse(line);
        const char *text = NULL;
        deid_span *gold = NULL, *found = NULL;
        size_t n_gold = 0, n_found = 0;
        deid_error e = {0};
        CHECK(json && deid_gold_from_json(json, &text, &gold, &n_gold, &e) == DEID_OK &&
                  deid_find(&c, text, strlen(text), &found, &n_found, &e) == DEID_OK,
              "%s record %d reads: %s", path, records + 1, e.msg);
        deid_score_add(sc, gold, n_gold, found, n_found);
        records++;
        free(gold), free(found);
        cJSON_Delete(json);
    }
    free(all);
    return records;
}

static void check_recall(const char *set, const deid_score *sc, const double *min_recall,
                         double min_precision) {
    int64_t found = 0, found_hit = 0;
    for (int k = 0; k < DEID_N_TYPES; k++) {
        const double r = sc->gold[k] ? (double)sc->gold_hit[k] / (double)sc->gold[k] : 0;
        CHECK(sc->gold[k] >= 4 && r >= min_recall[k], "%s %s: recall %.3f (%lld of %lld), want >= %.3f",
              set, deid_type_name((deid_type)k), r, (long long)sc->gold_hit[k],
              (long long)sc->gold[k], min_recall[k]);
        found += sc->found[k], found_hit += sc->found_hit[k];
    }
    CHECK(found && (double)found_hit / (double)found >= min_precision,
          "%s overall precision %lld of %lld, want >= %.2f", set, (long long)found_hit,
          (long long)found, min_precision);
}

/* Recall (gold spans overlapped by a prediction of their type) on our own labelled snippets.
 * The thresholds are the targets of the task: IDs, phones and labelled record numbers must all be
 * found (their formats are closed: a miss is a bug); names, addresses, dates and ages at least 95%,
 * organisations 90% (their boundaries are the least regular). These are the snippets the rules
 * were tuned on, so they pass by construction; a drop means a rule change broke a known case.
 * The honest measure is the held-out set in the same directory, which this test does not read. */
static void test_tuning_set(void) {
    deid_score sc = {0};
    const int records = score_file(TUNING, &sc);
    CHECK(records >= 60, "at least 60 tuning records (%d)", records);
    static const double min_recall[DEID_N_TYPES] = {
        [DEID_ID_NUMBER] = 1, [DEID_PHONE] = 1, [DEID_RECORD_NUMBER] = 1, [DEID_NAME] = 0.95,
        [DEID_ADDRESS] = 0.95, [DEID_DATE] = 0.95, [DEID_AGE] = 0.95, [DEID_ORG] = 0.9};
    check_recall("tuning", &sc, min_recall, 0.95);
}

/* dev2.jsonl: ~300 fictional records written as hospitals write them (admission notes, ward
 * rounds, operation and anaesthesia records, nursing handovers, consents, referrals, lab and
 * imaging report headers, text tables, English labels), with about 450 names (staff, relatives,
 * patients), 110 record numbers and many look-alikes (herbs and drugs starting with surname
 * characters, bed and specimen numbers). Before the rules for these layouts it scored name 73.2%,
 * record_number 76.4%, org 85%. The bars are the scores reached after (name 98.0%, record 100%,
 * org 95%, every type's precision 100%) minus a little, so a rule change that loses a layout fails
 * here. Like tuning.jsonl it was used to write the rules, so it is no fair measure either. */
static void test_dev2_set(void) {
    deid_score sc = {0};
    const int records = score_file(DEV2, &sc);
    CHECK(records >= 250, "at least 250 dev2 records (%d)", records);
    CHECK(sc.gold[DEID_NAME] >= 400 && sc.gold[DEID_RECORD_NUMBER] >= 100,
          "dev2 has its names (%lld) and record numbers (%lld)", (long long)sc.gold[DEID_NAME],
          (long long)sc.gold[DEID_RECORD_NUMBER]);
    static const double min_recall[DEID_N_TYPES] = {
        [DEID_ID_NUMBER] = 1, [DEID_PHONE] = 1, [DEID_RECORD_NUMBER] = 1, [DEID_NAME] = 0.97,
        [DEID_ADDRESS] = 1, [DEID_DATE] = 0.98, [DEID_AGE] = 0.75, [DEID_ORG] = 0.9};
    check_recall("dev2", &sc, min_recall, 0.99);
    const deid_type strict[] = {DEID_NAME, DEID_RECORD_NUMBER, DEID_ORG};
    for (size_t k = 0; k < sizeof strict / sizeof strict[0]; k++) {
        const deid_type ty = strict[k];
        CHECK(sc.found[ty] && (double)sc.found_hit[ty] / (double)sc.found[ty] >= 0.98,
              "dev2 %s precision %lld of %lld", deid_type_name(ty), (long long)sc.found_hit[ty],
              (long long)sc.found[ty]);
    }
}

/* dev3.jsonl: 180 fictional records in other styles than dev2: long progress notes where the
 * patient's and relatives' names recur with no cue (张伟诉…, …，张伟今日…), nursing records with
 * the nurse's name at the line end, legal-style power-of-attorney and refusal forms, insurance
 * claim and reimbursement forms (医保个人编号, 参保单位, 投保单位), referral and discharge letters to
 * other hospitals, lab and imaging headers (病员号, 住院/门诊号), employers without a cue word, and
 * negatives (herbs, eponyms, 由/经/请/与/向 before ordinary words). 681 names, 120 record
 * numbers, 42 organisations. Before the rules written from it (cue-less names at a clause start,
 * more record labels, '/' in values, organisations after 在/参加, addresses that stop before 组织
 * and before a hospital's name) it scored name 91.5%, record_number 91.7%, org 85.7%, address
 * precision 66.7%; after: name 98.4%, record_number 100%, org 97.6%, every type's precision 100%.
 * The bars are those numbers minus a little. It is generated from templates, so it shares its
 * layouts with the rules; it is no fair measure either. */
static void test_dev3_set(void) {
    deid_score sc = {0};
    const int records = score_file(DEV3, &sc);
    CHECK(records >= 120, "at least 120 dev3 records (%d)", records);
    CHECK(sc.gold[DEID_NAME] >= 300 && sc.gold[DEID_RECORD_NUMBER] >= 60 && sc.gold[DEID_ORG] >= 30,
          "dev3 has its names (%lld), record numbers (%lld) and organisations (%lld)",
          (long long)sc.gold[DEID_NAME], (long long)sc.gold[DEID_RECORD_NUMBER],
          (long long)sc.gold[DEID_ORG]);
    static const double min_recall[DEID_N_TYPES] = {
        [DEID_ID_NUMBER] = 1, [DEID_PHONE] = 1, [DEID_RECORD_NUMBER] = 1, [DEID_NAME] = 0.975,
        [DEID_ADDRESS] = 1, [DEID_DATE] = 1, [DEID_AGE] = 1, [DEID_ORG] = 0.95};
    check_recall("dev3", &sc, min_recall, 0.99);
    const deid_type strict[] = {DEID_NAME, DEID_RECORD_NUMBER, DEID_ORG, DEID_ADDRESS};
    for (size_t k = 0; k < sizeof strict / sizeof strict[0]; k++) {
        const deid_type ty = strict[k];
        CHECK(sc.found[ty] && (double)sc.found_hit[ty] / (double)sc.found[ty] >= 0.99,
              "dev3 %s precision %lld of %lld", deid_type_name(ty), (long long)sc.found_hit[ty],
              (long long)sc.found[ty]);
    }
}

int main(void) {
    test_checksum();
    test_id_phone_record();
    test_dates();
    test_ages();
    test_names();
    test_names_in_documents();
    test_record_layouts();
    test_orgs_addresses();
    test_offsets_placeholders();
    test_bad_input();
    test_config_errors();
    test_oom();
    test_threads();
    test_command();
    test_tuning_set();
    test_dev2_set();
    test_dev3_set();
    return test_summary();
}
